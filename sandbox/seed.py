"""A deterministic corp: the same seed and sizes give the same ids, names and relations.

Sizes scale to 500 staff / 100,000 customers / 5,000 groups in a few seconds: one pass per
record type, ids drawn from the world's seeded RNG, derived values (avatars, unionids,
member versions) left to properties.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.model import Customer, Department, GroupChat, Member, Staff, TagGroup

if TYPE_CHECKING:
    from sandbox.world import World

SURNAMES = [("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
            ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
            ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"),
            ("林", "lin"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
            ("唐", "tang"), ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
            ("彭", "peng"), ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("潘", "pan"),
            ("袁", "yuan"), ("蔡", "cai"), ("蒋", "jiang"), ("余", "yu"), ("杜", "du"), ("叶", "ye")]
GIVEN = [("伟", "wei", 1), ("芳", "fang", 2), ("娜", "na", 2), ("敏", "min", 2), ("静", "jing", 2),
         ("丽", "li", 2), ("强", "qiang", 1), ("磊", "lei", 1), ("军", "jun", 1), ("洋", "yang", 1),
         ("勇", "yong", 1), ("艳", "yan", 2), ("杰", "jie", 1), ("娟", "juan", 2), ("涛", "tao", 1),
         ("明", "ming", 1), ("超", "chao", 1), ("秀英", "xiuying", 2), ("霞", "xia", 2), ("平", "ping", 1),
         ("刚", "gang", 1), ("桂英", "guiying", 2), ("华", "hua", 1), ("鹏", "peng", 1), ("辉", "hui", 1),
         ("玲", "ling", 2), ("婷", "ting", 2), ("建华", "jianhua", 1), ("晨", "chen", 1), ("宇", "yu", 1),
         ("欣怡", "xinyi", 2), ("浩然", "haoran", 1), ("子涵", "zihan", 2), ("梓轩", "zixuan", 1)]
NICKNAMES = ["小鱼儿", "阳光明媚", "Lily", "向日葵", "安静的美男子", "风轻云淡", "Tony", "橙子",
             "A.宝妈", "一路向北", "Grace", "木子", "南风", "快乐每一天", "🌸花开半夏", "Kevin",
             "云淡风轻", "追梦人", "老李", "Amy", "糖糖", "大鹏", "知足常乐", "Jason", "海阔天空"]
COMPANIES = [("星河科技", "深圳星河科技有限公司"), ("云帆贸易", "上海云帆贸易有限公司"),
             ("青禾教育", "北京青禾教育咨询有限公司"), ("远航物流", "广州远航物流有限公司"),
             ("明德医疗", "杭州明德医疗器械有限公司")]
POSITIONS = ["销售顾问", "客户经理", "高级客户经理", "客户成功经理", "销售主管", "市场专员", "工程师"]
TAG_LIBRARY = [("客户等级", ["A类客户", "B类客户", "C类客户"]),
               ("客户来源", ["线上广告", "朋友推荐", "展会", "门店", "官网咨询"]),
               ("意向产品", ["基础版", "专业版", "企业版", "增值服务"]),
               ("地区", ["华北", "华东", "华南", "西南"]),
               ("跟进阶段", ["初次接触", "需求确认", "方案报价", "已成交", "已流失"])]
STATES = ["ad_baidu", "ad_douyin", "store_sh01", "store_bj02", "expo_2024", "website", "poster_a"]
GROUP_NAMES = ["{p}交流{n}群", "VIP客户{n}群", "{r}客户服务群{n}", "新品体验官{n}群", "{p}用户答疑群{n}"]
NOTICES = ["欢迎加入！请勿发广告。", "本群用于产品答疑，工作日 9:00-18:00 有专人回复。", ""]
# add_way: 1 扫码, 2 搜索手机号, 3 名片分享, 4 群聊, 5 手机通讯录, 6 微信联系人, 201 内部共享, 202 分配
ADD_WAYS, ADD_WAY_WEIGHTS = [1, 2, 3, 4, 5, 6, 201, 202, 0], [40, 12, 10, 10, 6, 12, 4, 4, 2]
DAY = 86400
# Ids the README's examples use, so they run as written against the sandbox: the first member is
# 张三 (zhangsan, in sales, with customer contact) and the 展会 tag's id is etEXPO.
FIRST_STAFF = ("张三", "zhangsan", 1)
WELL_KNOWN_TAG_IDS = {"展会": "etEXPO"}


def _staff_names(rng, count: int) -> list[tuple[str, str, int]]:
    """(name, userid, gender), userids unique like WeCom's pinyin ids (zhangwei, zhangwei2…)."""
    out, taken = ([FIRST_STAFF], {FIRST_STAFF[1]}) if count else ([], set())
    while len(out) < count:
        (surname, s_py), (given, g_py, gender) = rng.choice(SURNAMES), rng.choice(GIVEN)
        name, userid = surname + given, s_py + g_py
        if userid in taken:
            userid += str(sum(1 for t in taken if t.rstrip("0123456789") == userid) + 1)
        taken.add(userid)
        out.append((name, userid, gender))
    return out


def customer_name(rng) -> str:
    if rng.random() < 0.35:
        return rng.choice(NICKNAMES)
    return rng.choice(SURNAMES)[0] + rng.choice(GIVEN)[0]


def _departments(world: World) -> list[int]:
    """The sales-side departments (the ones whose members have customer contact)."""
    rows = [(1, "沙盒科技有限公司", 0), (2, "销售部", 1), (3, "客户成功部", 1), (4, "市场部", 1),
            (5, "技术部", 1), (6, "销售一组", 2), (7, "销售二组", 2)]
    for order, (dept_id, name, parent) in enumerate(rows):
        world.departments[dept_id] = Department(dept_id, name, parent, 100000000 - order * 1000)
    return [6, 7, 3]


def populate(world: World, *, staff: int, customers: int, groups: int) -> None:
    rng, now = world.rng, int(world.now())
    epoch = now - now % DAY  # relative times from the day's start: stable for a day's runs
    sales = _departments(world)

    for index, (name, userid, gender) in enumerate(_staff_names(rng, staff)):
        contact = index % 5 != 4  # ~80% have customer contact (zhangsan, first, does); the others: market/tech
        department = [rng.choice(sales)] if contact else [rng.choice([4, 5])]
        world.staff[userid] = Staff(userid, name, department, rng.choice(POSITIONS), gender,
                                    f"138{rng.randrange(10**8):08d}", contact)
    followers = [s for s in world.staff.values() if s.has_contact] or list(world.staff.values())

    for group_order, (group_name, tag_names) in enumerate(TAG_LIBRARY):
        created = epoch - rng.randrange(200, 400) * DAY
        group = TagGroup(world.new_id("et", 32, world.tag_groups), group_name, 100 - group_order, created)
        world.tag_groups[group.group_id] = group
        for order, tag_name in enumerate(tag_names):
            world.add_tag(group, tag_name, order=100 - order, tag_id=WELL_KNOWN_TAG_IDS.get(tag_name)
                          ).create_time = created
    tag_groups = [list(g.tags) for g in world.tag_groups.values()]

    for _ in range(customers):
        kind = 2 if rng.random() < 0.1 else 1
        customer = Customer(world.new_id("wm", 32, world.customers), customer_name(rng), kind,
                            rng.choice((0, 1, 1, 2, 2)))
        if kind == 2:
            customer.corp_name, customer.corp_full_name = rng.choice(COMPANIES)
            customer.position = rng.choice(["经理", "采购", "总监", ""])
        world.customers[customer.external_userid] = customer
        count = 1 if rng.random() < 0.82 else (2 if rng.random() < 0.85 else 3)
        for follower in rng.sample(followers, min(count, len(followers))):
            add_way = rng.choices(ADD_WAYS, ADD_WAY_WEIGHTS)[0]
            fields: dict = {}
            if rng.random() < 0.3:
                fields["state"] = rng.choice(STATES)
            if rng.random() < 0.3:
                fields["remark"] = customer.name[:8] + rng.choice(["-老客户", "-意向", "(转介绍)", ""])
            if rng.random() < 0.15:
                fields["description"] = rng.choice(["关注价格", "决策人", "需要上门演示", "下季度采购"])
            if rng.random() < 0.2:
                fields["remark_mobiles"] = (f"139{rng.randrange(10**8):08d}",)
            if kind == 2 and rng.random() < 0.5:
                fields["remark_corp_name"] = customer.corp_name
            picks = rng.randrange(4)
            if picks:
                fields["tag_ids"] = tuple(rng.choice(g) for g in rng.sample(tag_groups, picks))
            oper = follower.userid if add_way in (2, 5, 6, 201, 202) else customer.external_userid
            world.add_relation(follower, customer, createtime=epoch - rng.randrange(1, 720) * DAY
                               + rng.randrange(DAY), add_way=add_way, oper_userid=oper, **fields)

    customer_ids = list(world.customers)
    for n in range(groups):
        owner = rng.choice(followers)
        created = epoch - rng.randrange(1, 540) * DAY
        name = rng.choice(GROUP_NAMES).format(p=rng.choice(TAG_LIBRARY[2][1]), n=n + 1,
                                              r=rng.choice(TAG_LIBRARY[3][1]))
        group = GroupChat(world.new_id("wr", 30, world.groups), name, owner.userid, created,
                          world.next_seq(), notice=rng.choice(NOTICES))
        group.members[owner.userid] = Member(owner.userid, 1, created, 1)
        for colleague in rng.sample(followers, min(rng.randrange(3), len(followers))):
            if colleague.userid not in group.members:
                group.members[colleague.userid] = Member(colleague.userid, 1, created + rng.randrange(DAY),
                                                         1, invitor=owner.userid)
        own = list(owner.relations)
        for _ in range(rng.randrange(3, 60)):
            # Mostly the owner's own customers, some strangers (friends of friends).
            pool = own if own and rng.random() < 0.7 else customer_ids
            if not pool:
                break
            external_userid = rng.choice(pool)
            if external_userid in group.members:
                continue
            scene = rng.choice((1, 2, 3))
            group.members[external_userid] = Member(
                external_userid, 2, created + 1 + rng.randrange(epoch - created), scene,
                invitor=owner.userid if scene != 3 else "",
                group_nickname=rng.choice(["", "", "", "张总", "小王"]))
        colleagues = [m.userid for m in group.members.values() if m.type == 1 and m.userid != owner.userid]
        if colleagues and rng.random() < 0.5:
            group.admins.append(rng.choice(colleagues))
        group.mem_seq = len(group.members)
        world.groups[group.chat_id] = group
