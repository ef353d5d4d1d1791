"""Sidebar benchmark (issues #6, #16): p50/p95 of the chat sidebar's profile and timeline endpoints
against gunicorn, on PostgreSQL with generated data, with the bounds of issue #16 and the ratios
to them measured in the same run: profile p95 < 50 ms, <= 5 ms of gunicorn worker CPU per
profile, a typical profile answer (mean and p95) under 8 KB.

    python bench/sidebar.py --database-url postgresql://postgres@127.0.0.1:5432/test
                            [--customers 1000000] [--requests 2000] [--concurrency 4]
                            [--keep | --reuse SCHEMA] [--explain] [--app-dir CHECKOUT]

Builds a throwaway schema inside the given PostgreSQL database (`flask db upgrade`), fills it in
SQL on the server (INSERT ... SELECT generate_series, indexes dropped during the load and rebuilt,
then VACUUM ANALYZE): one corp, --customers customers (default 1,000,000) and, scaled with them
unless given, 2,000 staff, 3,000,000 follow relations with ~2 corp tags each (20 groups x 10),
50,000 group chats with ~1,000,000 customer members, 10,000,000 timeline rows (skewed: most
customers a few, 1% of them hundreds to thousands), follow-ups, funnel stages, custom fields and
SOP tasks. Then starts gunicorn (2 x gthread, as bench/callbacks.py) on a free 127.0.0.1 port and
sends --requests requests to each endpoint from --concurrency keep-alive clients, each as a
staff member who follows the customer (a forged session cookie, signed with the SECRET_KEY the
app is given):

    GET /sidebar/api/customers/<external_userid>?timeline_limit=20           (random customers)
    GET /sidebar/api/customers/<external_userid>/timeline?before=<id>&limit=20
        (customers drawn in proportion to their timeline length, paging back with next_before)

Each client first loads the corp tag library once, as the page does (GET /sidebar/api/tag-library,
then a revalidation with its ETag that must answer 304).
Every answer must be a 200 with the contract's keys (sidebar/CONTRACT.md). Prints p50/p95/p99/max
per endpoint, the bounds and ratios, profile answer sizes and worker CPU per profile, throughput,
errors, row counts, generation time, database size and gunicorn's peak RSS; with --explain (or
when a p95 misses the 50 ms target) EXPLAIN (ANALYZE, BUFFERS) of every SELECT behind one profile
and one timeline request. Until the sidebar endpoints answer, it measures the Open API's
GET /api/v1/customers/<id> instead (--endpoint auto).
The schema is dropped afterwards unless --keep (then measure again with --reuse SCHEMA).
--app-dir serves another checkout's app with this benchmark (a worktree at an older commit gives
the before figure on the same data and sample). Targets are followers who may use the sidebar
(not left, not disabled).
Redis: REDIS_URL when set, else an embedded redis-server. Exits 1 on any error.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[0] = str(REPO)  # not bench/: its callbacks.py would shadow the callbacks package

import psycopg  # noqa: E402
from flask import Flask  # noqa: E402
from flask.sessions import SecureCookieSessionInterface  # noqa: E402
from sqlalchemy import make_url  # noqa: E402

import bench.callbacks as _cb  # noqa: E402  (bench/ as a namespace package, like bench/welcome.py)
from sandbox.embedded_redis import EmbeddedRedis, free_port  # noqa: E402

start_gunicorn, stop, server_pids = _cb.start_gunicorn, _cb.stop, _cb.server_pids
peak_rss_mb, cpu_seconds, percentile_ms = _cb.peak_rss_mb, _cb.cpu_seconds, _cb.percentile_ms
CORP_ID, AGENT_ID = _cb.CORP_ID, _cb.AGENT_ID  # Tencent's public sample credentials
TOKEN, AES_KEY = _cb.TOKEN, _cb.AES_KEY
SECRET_KEY = secrets.token_hex(32)  # signs the forged session cookies and the server's
TARGET_P95_MS = 50
TARGET_CPU_MS = 5  # gunicorn workers' CPU per profile request (issue #16)
TARGET_SIZE_KB = 8  # a typical (mean and p95) profile answer (issue #16)
PROFILE_KEYS = {"customer", "relation", "channel", "colleagues", "tags", "stage", "fields", "groups",
                "sops", "churn_risk", "follow_ups", "timeline"}
OPENAPI_KEYS = {"external_userid", "name", "relations", "groups", "timeline"}

# ---------------------------------------------------------------------------------------------
# Data generation: vocabularies (inlined into the SQL as array literals)

SURNAMES = ("王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 林 罗 高 郑 梁 谢 宋 唐 许 韩 冯 邓 曹 彭 曾 肖 田 "
            "董 袁 潘 蒋 蔡 余 杜 叶 程 魏 苏 吕 丁 任 沈 姚 卢 傅 钟 姜 崔 谭 陆 范 汪 廖 石 金 韦 贾 夏 付 方 邹 "
            "熊 白 孟 秦 邱 侯 江 尹 薛 闫 段 雷 龙 黎 史 陶 贺 毛 郝 顾 龚 邵 万 覃 武 钱 戴 严 "
            "欧阳 上官 司马").split()
GIVEN = ("伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀 霞 平 刚 桂 英 华 玉 萍 红 玲 芬 燕 彬 鑫 婷 雪 琳 "
         "晨 浩 宇 轩 子 涵 欣 怡 梓 然 思 雨 嘉 博 文 俊 一 诺 泽 睿 佳 琪 紫 萱 瑶 晓 东 建 国 海 志 春 天 亮 "
         "慧 颖 璐 倩 晶 凯 鹏 飞 斌 辉 峰 宁 阳 安 乐 心 悦").split()
ENGLISH = ("Lucy Kevin Amy Jason Tony Cindy Vivian Eric Jack Lily Grace Leo Sophia Peter Helen Frank Anna "
           "Mike Sunny Coco Candy Alex Daniel Emma").split()
NICKNAMES = ["小太阳", "快乐每一天", "追梦人", "A-建材-老王", "🍀幸运草", "Mr.Li", "静待花开", "岁月静好", "阿杰",
             "简单就好", "🌸花开富贵", "一路向北", "橙子🍊", "老张-装修", "Dream", "晴天", "A01-刘总", "微笑👍",
             "平安是福", "奋斗的蜗牛", "向日葵🌻", "小鱼儿", "王先生", "陈女士", "木子李", "安静的美男子"]
EMOJI = ["🌸", "🍀", "☀️", "🐱", "✨", "🌈", "💼", "🎈"]
CITIES = ["上海", "北京", "深圳", "广州", "杭州", "成都", "南京", "武汉", "苏州", "西安", "重庆", "天津",
          "长沙", "郑州"]
COMPANIES = ["腾讯科技", "华为技术", "阿里巴巴", "平安保险", "万科地产", "美的集团", "顺丰速运", "招商银行", "比亚迪",
             "京东物流", "海尔智家", "中国移动", "小米科技", "字节跳动", "蔚来汽车", "恒瑞医药"]
POSITIONS = ["总经理", "采购经理", "市场总监", "销售代表", "产品经理", "财务", "行政主管", "技术总监", "店长", "HR"]
REMARK_WORDS = ["报价中", "老客户", "意向强", "待回访", "已成交", "重点跟进", "转介绍", "展会", "价格敏感", "决策人"]
FOLLOW_UP_TEXTS = ["电话沟通：客户对报价有疑问，约下周拜访", "发送了产品手册和报价单", "客户表示预算在审批中",
                   "上门拜访，见到采购负责人，需求明确", "微信沟通：客户询问售后政策", "客户暂无需求，三个月后再联系",
                   "已寄送样品，等待客户反馈", "客户同意签约，合同走流程中", "参加了线上直播，对新品感兴趣",
                   "节日问候，顺便了解近况"]
TAG_GROUPS = {
    "客户等级": ["A类客户", "B类客户", "C类客户", "D类客户", "VIP", "SVIP", "普通会员", "黑名单", "潜在客户",
                 "流失客户"],
    "意向程度": ["高意向", "中意向", "低意向", "无意向", "已成交", "复购", "待跟进", "观望", "比价中", "已流失"],
    "来源渠道": ["展会", "官网", "抖音", "小红书", "朋友圈广告", "老客户推荐", "地推", "电话销售", "公众号", "直播间"],
    "行业": ["互联网", "制造业", "教育", "医疗", "金融", "零售", "地产", "物流", "餐饮", "政府"],
    "地区": ["华东", "华南", "华北", "华中", "西南", "西北", "东北", "港澳台", "海外", "其他地区"],
    "年龄段": ["18岁以下", "18-24岁", "25-29岁", "30-34岁", "35-39岁", "40-44岁", "45-49岁", "50-59岁",
               "60岁以上", "未知年龄"],
    "兴趣": ["美妆", "母婴", "数码", "运动", "旅行", "美食", "宠物", "家居", "汽车", "理财"],
    "购买阶段": ["初次接触", "需求确认", "方案沟通", "报价", "谈判", "签约", "交付", "售后", "续约", "沉默"],
    "预算": ["1万以下", "1-5万", "5-10万", "10-20万", "20-50万", "50-100万", "100万以上", "未定", "申请中", "已批"],
    "性别偏好": ["男士", "女士", "情侣", "家庭", "学生", "白领", "宝妈", "银发", "企业主", "自由职业"],
    "活动": ["双11", "618", "年货节", "新品发布", "会员日", "周年庆", "开业", "抽奖", "满减", "秒杀"],
    "客户类型": ["个人", "企业", "代理商", "经销商", "合作伙伴", "供应商", "媒体", "KOL", "员工家属", "竞品"],
    "服务": ["已安装", "待安装", "维修中", "已退货", "换货", "投诉", "表扬", "回访完成", "待回访", "保修期内"],
    "产品线": ["基础版", "专业版", "企业版", "旗舰版", "硬件", "耗材", "配件", "增值服务", "培训", "定制开发"],
    "沟通偏好": ["电话", "微信", "邮件", "上门", "视频会议", "工作日", "周末", "上午", "下午", "晚上"],
    "会员等级": ["铜牌", "银牌", "金牌", "铂金", "钻石", "黑金", "新会员", "沉睡会员", "流失会员", "回流会员"],
    "城市级别": ["一线", "新一线", "二线", "三线", "四线", "五线", "县城", "乡镇", "直辖市", "省会"],
    "决策角色": ["决策人", "影响者", "使用者", "采购", "财务审批", "技术评估", "老板", "助理", "顾问", "未知角色"],
    "付款方式": ["全款", "分期", "月结", "季付", "年付", "预付", "货到付款", "对公转账", "信用卡", "花呗"],
    "风险": ["高风险", "中风险", "低风险", "逾期", "欠款", "信用良好", "新客户", "疑似同行", "重复添加", "无风险"],
}
# (kind, source, weight of 100, summary) of timeline rows; kinds as written by scrm/services.
TIMELINE_KINDS = [
    ("relation_added", "callback", 8, "添加了客户"), ("relation_updated", "callback", 14, "修改了备注："),
    ("customer_updated", "sync", 8, "客户资料已更新："), ("tags_applied", "job", 8, "打上标签："),
    ("joined_group", "callback", 9, "加入群聊："), ("left_group", "callback", 3, "退出群聊："),
    ("welcome_sent", "job", 6, "发送欢迎语"), ("sop_step_sent", "job", 10, "SOP 提醒已发送："),
    ("follow_up", "sidebar", 14, "跟进："), ("content_sent", "sidebar", 12, "发送话术："),
    ("stage_changed", "sidebar", 5, "阶段变更："), ("fields_changed", "sidebar", 3, "修改了客户字段："),
]
FUNNEL = ["初步接触", "需求确认", "方案报价", "商务谈判", "成交", "流失"]
FIELDS = [  # key, label, type, options
    ("budget", "预算(万元)", "number", None), ("city", "所在城市", "select", CITIES[:8]),
    ("birthday", "生日", "date", None),
    ("company_size", "公司规模", "select", ["1-10人", "11-50人", "51-200人", "200人以上"]),
    ("intent_product", "意向产品", "text", None), ("contract_end", "合同到期", "date", None),
]
SOPS = ["新客户7天培育", "沉睡客户唤醒", "生日关怀", "成交后回访", "展会客户跟进"]


def arr(values) -> str:
    """A SQL array literal of strings (or numbers)."""
    def lit(v):
        return str(v) if isinstance(v, int) else "'" + str(v).replace("'", "''") + "'"
    return "ARRAY[" + ",".join(lit(v) for v in values) + "]"


def pick(values) -> str:
    """SQL: a random element of values, chosen per row."""
    return f"({arr(values)})[1 + floor(random() * {len(values)})::int]"


def name_sql() -> str:
    """SQL: a WeChat-style display name (mostly Chinese names, some English and nicknames)."""
    chinese = f"{pick(SURNAMES)} || {pick(GIVEN)} || CASE WHEN random() < 0.6 THEN {pick(GIVEN)} ELSE '' END"
    return (f"CASE WHEN random() < 0.64 THEN {chinese} "
            f"WHEN random() < 0.45 THEN {pick(ENGLISH)} || CASE WHEN random() < 0.3 THEN '_' || {pick(SURNAMES)} "
            f"ELSE '' END "
            f"WHEN random() < 0.7 THEN {pick(NICKNAMES)} "
            f"ELSE {pick(SURNAMES)} || {pick(GIVEN)} || {pick(EMOJI)} END")


# Customers, staff and chats are numbered 1..n; their WeCom ids derive from the number.
def ext(i: str) -> str:
    return f"('wm' || substr(md5('c' || ({i})), 1, 30))"


def uid(i: str) -> str:
    return f"('u' || lpad(({i})::text, 5, '0'))"


def chat(i: str) -> str:
    return f"('wr' || substr(md5('g' || ({i})), 1, 30))"


NOW = "timezone('utc', now())"


@dataclass
class Sizes:
    customers: int
    staff: int
    relations: int
    timeline: int
    groups: int
    members: int
    follow_ups: int

    @classmethod
    def from_args(cls, args) -> Sizes:
        n = args.customers
        scale = n / 1_000_000
        return cls(customers=n, staff=args.staff or max(10, round(2000 * scale)),
                   relations=args.relations or 3 * n, timeline=args.timeline or 10 * n,
                   groups=args.groups or max(10, round(50_000 * scale)), members=args.members or n,
                   follow_ups=args.follow_ups or n // 2)


def generation_sql(s: Sizes) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
    """(small setup statements, the big tables' loads except the timeline, the timeline's load):
    lists of (label, SQL)."""
    n, staff, corp = s.customers, s.staff, f"'{CORP_ID}'"
    ago = f"{NOW} - random() * interval '1095 days'"
    tags = [(g, t) for g, names in TAG_GROUPS.items() for t in names]
    ntags, ngroups = len(tags), len(TAG_GROUPS)
    setup = [
        ("corp", f"INSERT INTO corp (corp_id, name, agent_id, created_at, updated_at) "
                 f"VALUES ({corp}, '压测科技有限公司', {AGENT_ID}, {NOW}, {NOW})"),
        ("department", f"INSERT INTO department (id, corp_id, dept_id, name, parent_id, \"order\", created_at, "
                       f"updated_at) SELECT d, {corp}, d, CASE WHEN d = 1 THEN '压测科技' "
                       f"ELSE {pick(CITIES)} || '销售' || d || '部' END, "
                       f"CASE WHEN d = 1 THEN 0 ELSE 1 END, d, {NOW}, {NOW} FROM generate_series(1, 40) d"),
        ("staff", f"INSERT INTO staff (id, corp_id, userid, name, position, mobile, email, gender, avatar, "
                  f"department_ids, main_department, status, created_at, updated_at) "
                  f"SELECT i, {corp}, {uid('i')}, {pick(SURNAMES)} || {pick(GIVEN)} || {pick(GIVEN)}, "
                  f"{pick(['销售顾问', '客户经理', '销售主管', '大客户经理', '客服'])}, "
                  f"'13' || lpad((i * 7919 % 1000000000)::text, 9, '0'), {uid('i')} || '@example.com', "
                  f"1 + i % 2, 'https://wework.qpic.cn/wwhead/' || md5('s' || i) || '/0', "
                  f"json_build_array(2 + i % 39), 2 + i % 39, CASE WHEN i % 97 = 0 THEN 5 ELSE 1 END, {NOW}, {NOW} "
                  f"FROM generate_series(1, {staff}) i"),
        ("staff_role", f"INSERT INTO staff_role (corp_id, userid, role, data_scope, can_view_mobile, created_at, "
                       f"updated_at) SELECT {corp}, {uid('i')}, CASE WHEN i <= 5 THEN 'admin' ELSE 'manager' END, "
                       f"CASE WHEN i <= 5 THEN 'corp' ELSE 'department' END, i <= 5, {NOW}, {NOW} "
                       f"FROM generate_series(1, {min(40, staff)}) i"),
        ("tag_group", f"INSERT INTO tag_group (id, corp_id, group_id, name, \"order\", create_time, deleted, "
                      f"created_at, updated_at) SELECT g, {corp}, 'etg' || substr(md5('tg' || g), 1, 20), "
                      f"({arr(list(TAG_GROUPS))})[g], 1000 - g, {NOW}, false, {NOW}, {NOW} "
                      f"FROM generate_series(1, {ngroups}) g"),
        ("tag", f"INSERT INTO tag (id, corp_id, tag_id, group_id, name, \"order\", create_time, deleted, created_at, "
                f"updated_at) SELECT t, {corp}, 'et' || substr(md5('t' || t), 1, 22), "
                f"'etg' || substr(md5('tg' || (1 + (t - 1) / 10)), 1, 20), ({arr([t for _, t in tags])})[t], "
                f"100 - t, {NOW}, false, {NOW}, {NOW} FROM generate_series(1, {ntags}) t"),
        ("channel", f"INSERT INTO channel (id, corp_id, name, config_id, qr_code, type, scene, remark, skip_verify, "
                    f"state, userids, tag_ids, status, created_at, updated_at) "
                    f"SELECT i, {corp}, {pick(CITIES)} || {pick(['展会', '门店', '地推', '官网', '直播'])} "
                    f"|| '活码' || i, "
                    f"md5('cfg' || i), 'https://wework.qpic.cn/wwpic/' || md5('qr' || i) || '/0', 1, 2, NULL, true, "
                    f"'qr' || i, json_build_array({uid('1 + i')}), '[]'::json, 'active', {NOW}, {NOW} "
                    f"FROM generate_series(1, 50) i"),
        ("funnel_stage", f"INSERT INTO funnel_stage (id, corp_id, name, \"order\", deleted, created_at, updated_at) "
                         f"SELECT i, {corp}, ({arr(FUNNEL)})[i], i, false, {NOW}, {NOW} "
                         f"FROM generate_series(1, {len(FUNNEL)}) i"),
        ("custom_field", "INSERT INTO custom_field (id, corp_id, key, label, type, options, required, \"order\", "
                         "deleted, created_at, updated_at) VALUES " + ", ".join(
                             f"({i}, {corp}, '{k}', '{label}', '{t}', "
                             + (f"'{json.dumps(o, ensure_ascii=False)}'" if o else "NULL")
                             + f", false, {i}, false, {NOW}, {NOW})"
                             for i, (k, label, t, o) in enumerate(FIELDS, 1))),
        ("sop", f"INSERT INTO sop (id, corp_id, name, status, conditions, created_at, updated_at) "
                f"SELECT i, {corp}, ({arr(SOPS)})[i], 'active', '{{\"tag_ids\": [], \"userids\": []}}'::json, "
                f"{NOW}, {NOW} FROM generate_series(1, {len(SOPS)}) i"),
        ("sop_step", f"INSERT INTO sop_step (id, corp_id, sop_id, position, name, anchor, yearly, day_offset, at_time, "
                     f"text, attachments, delivery, deleted, created_at, updated_at) "
                     f"SELECT (s - 1) * 3 + p, {corp}, s, p, '第' || p || '步', 'added', false, p * 2, '10:00', "
                     f"'您好，{{nickname}}，这是第' || p || '步的资料', '[]'::json, 'reminder', false, {NOW}, {NOW} "
                     f"FROM generate_series(1, {len(SOPS)}) s, generate_series(1, 3) p"),
    ]
    # Follow relations: customer i has k in [1, 2 * avg - 1] of them (distinct staff, the busiest
    # staff members with more customers), 92% active.
    kmax = max(1, round(2 * s.relations / n - 1))
    stride = max(1, staff // kmax)
    status = ("CASE WHEN random() < 0.92 THEN 'active' ELSE "
              f"{pick(['deleted_by_customer', 'deleted_by_customer', 'deleted_by_staff', 'transferred'])} END")
    add_way = pick([1, 1, 1, 2, 2, 3, 4, 4, 0, 5, 201, 202])
    relations = (
        f"INSERT INTO follow_relation (corp_id, userid, external_userid, remark, description, remark_corp_name, "
        f"remark_mobiles, add_way, state, oper_userid, added_at, status, status_changed_at, created_at, updated_at) "
        f"SELECT {corp}, u, {ext('i')}, "
        f"CASE WHEN random() < 0.5 THEN {pick(SURNAMES)} || {pick(['总', '经理', '老师', '先生', '女士'])} || '-' "
        f"|| {pick(CITIES)} || '-' || {pick(REMARK_WORDS)} END, "
        f"CASE WHEN random() < 0.2 THEN '客户关注' || {pick(['价格', '交期', '售后', '品质', '定制'])} "
        f"|| '，' || {pick(FOLLOW_UP_TEXTS)} END, "
        f"CASE WHEN random() < 0.2 THEN {pick(COMPANIES)} || '有限公司' END, "
        f"CASE WHEN random() < 0.4 THEN json_build_array('1' || (30 + floor(random() * 60))::int "
        f"|| lpad(floor(random() * 100000000)::int::text, 8, '0')) END, "
        f"{add_way}, CASE WHEN random() < 0.3 THEN 'qr' || (1 + floor(random() * 50))::int END, u, a, st, "
        f"CASE WHEN st <> 'active' THEN a + random() * interval '200 days' END, a, a "
        f"FROM (SELECT i, j, {uid(f'1 + (b + j * {stride}) % {staff}')} u, {ago} a, {status} st "
        f"      FROM (SELECT i, floor(random() * {kmax})::int k, floor({staff} * power(random(), 1.3))::int b "
        f"            FROM generate_series(1, {n}) i) c, generate_series(0, c.k) j) r")
    # ~2 corp tags per relation: 0..4, distinct.
    relation_tags = (
        f"INSERT INTO relation_tag (corp_id, userid, external_userid, tag_key, tag_id, tag_name, group_name, type, "
        f"created_at) SELECT {corp}, r.userid, r.external_userid, t.tag_id, t.tag_id, t.name, g.name, 1, r.added_at "
        f"FROM (SELECT userid, external_userid, added_at, floor(random() * 5)::int m, "
        f"             floor(random() * {ntags})::int b FROM follow_relation) r "
        f"CROSS JOIN LATERAL generate_series(0, r.m - 1) j "
        f"JOIN tag t ON t.id = 1 + (r.b + j * 41) % {ntags} "
        f"JOIN tag_group g ON g.group_id = t.group_id")
    groups = (
        f"INSERT INTO group_chat (id, corp_id, chat_id, name, owner, notice, admin_userids, create_time, "
        f"member_version, status, dismissed_at, created_at, updated_at) "
        f"SELECT i, {corp}, {chat('i')}, {pick(CITIES)} || {pick(['客户', 'VIP', '售后', '新品体验', '会员', '团购'])} "
        f"|| '交流群' || (i % 300), {uid(f'1 + i % {staff}')}, "
        f"CASE WHEN random() < 0.3 THEN '群公告：请勿发广告，有问题请@群主' END, '[]'::json, a, md5('v' || i), "
        f"CASE WHEN random() < 0.04 THEN 'dismissed' ELSE 'active' END, NULL, a, a "
        f"FROM (SELECT i, {ago} a FROM generate_series(1, {s.groups}) i) g")
    # Half the customers are in no group, the others in 1-3 (members ~ customers); each group has
    # its owner and two more staff members.
    in_groups = s.members / n  # mean memberships per customer
    gstride = max(1, s.groups // 3)
    members = (
        f"INSERT INTO group_member (corp_id, chat_id, member_id, type, unionid, name, join_time, join_scene, "
        f"invitor, quit_time, quit_scene, created_at, updated_at) "
        f"SELECT {corp}, {chat(f'1 + (c.gb + j * {gstride}) % {s.groups}')}, c.external_userid, 2, c.unionid, "
        f"c.name, jt, {pick([1, 2, 3])}, {uid(f'1 + c.gb % {staff}')}, "
        f"CASE WHEN random() < 0.05 THEN jt + random() * interval '90 days' END, NULL, jt, jt "
        f"FROM (SELECT external_userid, unionid, name, floor(random() * {s.groups})::int gb, "
        f"             CASE WHEN random() < 0.5 THEN 0 ELSE 1 + floor(random() * {min(3.0, 4 * in_groups - 1):.3f}) "
        f"             END::int cnt FROM customer) c, "
        f"     generate_series(0, c.cnt - 1) j, LATERAL (SELECT {ago} + 0 * j * interval '1 s' jt) t")
    staff_members = (
        f"INSERT INTO group_member (corp_id, chat_id, member_id, type, name, join_time, join_scene, created_at, "
        f"updated_at) SELECT {corp}, g.chat_id, {uid(f'1 + (i % {staff} + k) % {staff}')}, 1, NULL, g.create_time, "
        f"1, g.create_time, g.create_time FROM generate_series(1, {s.groups}) i "
        f"JOIN group_chat g ON g.id = i, generate_series(0, 2) k")
    follow_pct = min(100.0, 100.0 * s.follow_ups / max(1, s.relations) / 2)
    follow_ups = (
        f"INSERT INTO follow_up (corp_id, userid, external_userid, kind, content, next_at, reminder_status, "
        f"reminded_at, created_at, updated_at) "
        f"SELECT {corp}, userid, external_userid, {pick(['chat', 'call', 'visit', 'note'])}, {pick(FOLLOW_UP_TEXTS)}, "
        f"na, CASE WHEN na IS NULL THEN 'none' WHEN na < {NOW} THEN 'sent' ELSE 'pending' END, "
        f"CASE WHEN na < {NOW} THEN na END, ca, ca "
        f"FROM (SELECT r.userid, r.external_userid, ca, "
        f"             CASE WHEN random() < 0.3 THEN ca + (1 + floor(random() * 30)) * interval '1 day' END na "
        f"      FROM follow_relation r TABLESAMPLE BERNOULLI ({follow_pct:.4f}), generate_series(1, 3) k, "
        f"           LATERAL (SELECT {NOW} - random() * interval '400 days' + 0 * k * interval '1 s' ca) c "
        f"      WHERE r.status = 'active' AND random() < 0.667) f")
    stages = (
        f"INSERT INTO customer_stage (corp_id, external_userid, stage_id, updated_by, created_at, updated_at) "
        f"SELECT {corp}, {ext('i')}, 1 + floor(power(random(), 1.5) * {len(FUNNEL)})::int, "
        f"{uid(f'1 + i % {staff}')}, a, a FROM (SELECT i, {ago} a FROM generate_series(1, {n}) i "
        f"WHERE random() < 0.4) c")
    values = {
        "number": "(1 + floor(random() * 500))::int::text",
        "select": None,
        "date": "to_char(date '1970-01-01' + floor(random() * 20000)::int, 'YYYY-MM-DD')",
        "text": f"{pick(['基础版', '专业版', '企业版', '定制方案', '年度服务', '硬件套装'])}",
    }
    field_values = (
        f"INSERT INTO customer_field_value (corp_id, external_userid, field_id, value, updated_by, created_at, "
        f"updated_at) SELECT {corp}, {ext('i')}, f, CASE f "
        + " ".join(f"WHEN {i} THEN {pick(o) if t == 'select' else values[t]}"
                   for i, (_, _, t, o) in enumerate(FIELDS, 1))
        + f" END, {uid(f'1 + i % {staff}')}, {NOW}, {NOW} "
        f"FROM generate_series(1, {n}) i, generate_series(1, {len(FIELDS)}) f WHERE random() < 0.3")
    enrollments = (
        f"INSERT INTO sop_enrollment (corp_id, sop_id, userid, external_userid, added_at, status, created_at, "
        f"ended_at) "
        f"SELECT {corp}, 1 + floor(random() * {len(SOPS)})::int, userid, external_userid, added_at, "
        f"CASE WHEN added_at < {NOW} - interval '30 days' THEN 'completed' ELSE 'active' END, added_at, NULL "
        f"FROM follow_relation TABLESAMPLE BERNOULLI (5) WHERE status = 'active'")
    tasks = (
        f"INSERT INTO sop_task (corp_id, sop_id, step_id, enrollment_id, userid, external_userid, delivery, due_at, "
        f"status, attempts, created_at) "
        f"SELECT {corp}, e.sop_id, (e.sop_id - 1) * 3 + p, e.id, e.userid, e.external_userid, 'reminder', "
        f"e.added_at + p * interval '2 days', "
        f"CASE WHEN e.added_at + p * interval '2 days' < {NOW} THEN 'sent' ELSE 'pending' END, 0, e.added_at "
        f"FROM sop_enrollment e, generate_series(1, 3) p")
    big = [("customer", None), ("follow_relation", relations), ("relation_tag", relation_tags),
           ("group_chat", groups), ("group_member", members), ("group_member (staff)", staff_members),
           ("follow_up", follow_ups), ("customer_stage", stages), ("customer_field_value", field_values),
           ("sop_enrollment", enrollments), ("sop_task", tasks)]
    big[0] = ("customer", (
        f"INSERT INTO customer (id, corp_id, external_userid, name, avatar, type, gender, corp_name, corp_full_name, "
        f"position, unionid, external_profile, created_at, updated_at) "
        f"SELECT i, {corp}, {ext('i')}, nm, 'http://wx.qlogo.cn/mmhead/' || md5('a' || i) || md5('b' || i) || '/0', "
        f"ty, CASE WHEN random() < 0.1 THEN 0 WHEN random() < 0.5 THEN 1 ELSE 2 END, "
        f"CASE WHEN ty = 2 THEN {pick(COMPANIES)} END, "
        f"CASE WHEN ty = 2 THEN {pick(CITIES)} || {pick(COMPANIES)} || '有限公司' END, "
        f"CASE WHEN ty = 2 THEN {pick(POSITIONS)} END, "
        f"CASE WHEN ty = 1 THEN 'oAmq' || substr(md5('u' || i), 1, 24) END, NULL, a, a "
        f"FROM (SELECT i, {name_sql()} nm, CASE WHEN random() < 0.85 THEN 1 ELSE 2 END ty, {ago} a "
        f"      FROM generate_series(1, {n}) i) c"))
    # Timeline: in time order (ids follow occurred_at), 70% of rows on a uniformly random customer
    # (a few each), 30% on 1% of the customers, skewed within them (hundreds to thousands each).
    heavy = max(1, n // 100)
    weights = [k for k, (_, _, w, _) in enumerate(TIMELINE_KINDS, 1) for _ in range(w)]
    assert len(weights) == 100
    kinds, sources = arr([k[0] for k in TIMELINE_KINDS]), arr([k[1] for k in TIMELINE_KINDS])
    summaries = arr([k[3] for k in TIMELINE_KINDS])
    detail = (f"CASE WHEN k IN (2, 9) THEN {pick(FOLLOW_UP_TEXTS)} WHEN k IN (4, 11) THEN {pick([t for _, t in tags])} "
              f"WHEN k = 10 THEN {pick(['产品介绍', '报价单', '活动海报', '公司简介', '售后政策'])} "
              f"WHEN k = 8 THEN {pick(SOPS)} WHEN k IN (5, 6) THEN {pick(CITIES)} || '客户交流群' ELSE '' END")
    span = 1095 * 86400
    timeline = (
        f"INSERT INTO timeline_entry (id, corp_id, external_userid, userid, kind, source, occurred_at, recorded_at, "
        f"event_id, summary, data) "
        f"SELECT i, {corp}, {ext('c')}, "
        f"CASE WHEN k = 3 THEN NULL ELSE {uid(f'1 + floor(random() * {staff})::int')} END, "
        f"({kinds})[k], ({sources})[k], t, t + random() * interval '3 seconds', NULL, ({summaries})[k] || {detail}, "
        f"CASE WHEN k IN (5, 6) THEN json_build_object('chat_id', {chat(f'1 + floor(random() * {s.groups})::int')}) "
        f"WHEN k = 2 THEN '{{\"changes\": [\"remark\"]}}'::json END "
        f"FROM (SELECT i, CASE WHEN random() < 0.3 "
        f"        THEN 1 + mod(floor({heavy} * power(random(), 2))::int * {n // heavy}, {n}) "
        f"        ELSE 1 + floor(random() * {n})::int END c, "
        f"      ({arr(weights)})[1 + floor(random() * 100)::int] k, "
        f"      {NOW} - interval '{span} seconds' + (i::float8 / %(total)s * {span} + random() * 600) "
        f"      * interval '1 second' t "
        f"      FROM generate_series(%(first)s::bigint, %(last)s::bigint) i) s")
    return setup, big, [("timeline_entry", timeline)]


BIG_TABLES = ["customer", "follow_relation", "relation_tag", "group_chat", "group_member", "follow_up",
              "customer_stage", "customer_field_value", "sop_enrollment", "sop_task", "timeline_entry"]


def drop_indexes(conn, tables: list[str]) -> dict[str, list[str]]:
    """Drop the tables' indexes and constraints (foreign keys first). Returns, per table, the
    statements that recreate them (indexes, then keys, then foreign keys), to run after the load."""
    rebuild: dict[str, list[str]] = {}
    fks, keys = [], []
    for table in tables:
        rows = conn.execute("SELECT conname, pg_get_constraintdef(oid), contype FROM pg_constraint "
                            "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f')", (table,)).fetchall()
        names = {name for name, _, _ in rows}
        rebuild[table] = []
        for name, definition in conn.execute("SELECT indexname, indexdef FROM pg_indexes "
                                             "WHERE schemaname = current_schema() AND tablename = %s", (table,)):
            if name not in names:
                conn.execute(f'DROP INDEX "{name}"')  # (no constraint uses a plain index)
                rebuild[table].append(definition)
        for name, definition, kind in rows:
            (fks if kind == "f" else keys).append((table, name, definition))
    # Foreign keys of other tables that point at these (relation_search -> follow_relation): they
    # depend on the keys dropped here, so they go first and come back after the whole load.
    outside = conn.execute("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                           "WHERE contype = 'f' AND confrelid = ANY(%s::regclass[]) "
                           "AND NOT conrelid = ANY(%s::regclass[])", (tables, tables)).fetchall()
    for table, name, _ in outside:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    rebuild[""] = [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for table, name, definition in outside]
    for table, name, _ in fks + keys:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for table, name, definition in keys + fks:
        rebuild[table].append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    return rebuild


def loader(conninfo: str) -> psycopg.Connection:
    conn = psycopg.connect(conninfo, autocommit=True)
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute("SET work_mem = '256MB'")
    return conn


def generate(conninfo: str, sizes: Sizes, log) -> dict[str, float]:
    """Fill the (migrated, empty) schema. Returns seconds per phase."""
    setup, big, timeline = generation_sql(sizes)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    with loader(conninfo) as conn:
        for _, sql in setup:
            conn.execute(sql)
        per_table = drop_indexes(conn, BIG_TABLES)
    timings["setup"] = time.perf_counter() - start
    errors: list[BaseException] = []

    def run(statements: list[tuple[str, str]], tables: list[str], name: str) -> None:
        try:
            with loader(conninfo) as conn:
                t0 = time.perf_counter()
                for label, sql in statements:
                    t = time.perf_counter()
                    if label == "timeline_entry":  # in chunks, to show progress
                        total, chunk = sizes.timeline, 2_000_000
                        for first in range(1, total + 1, chunk):
                            conn.execute(sql, {"total": total, "first": first,
                                               "last": min(total, first + chunk - 1)})
                            log(f"  {label}: {min(total, first + chunk - 1):,} rows, "
                                f"{time.perf_counter() - t:.0f} s")
                    else:
                        conn.execute(sql)
                        log(f"  {label}: {time.perf_counter() - t:.1f} s")
                timings[f"load ({name})"] = time.perf_counter() - t0
                t0 = time.perf_counter()
                for table in tables:
                    for statement in per_table[table]:
                        conn.execute(statement)
                timings[f"indexes ({name})"] = time.perf_counter() - t0
                log(f"  {name}: indexes rebuilt in {timings[f'indexes ({name})']:.1f} s")
                t0 = time.perf_counter()
                for table in tables:
                    conn.execute(f"VACUUM (ANALYZE) {table}")
                timings[f"vacuum analyze ({name})"] = time.perf_counter() - t0
        except BaseException as exc:  # noqa: BLE001  (re-raised by the main thread)
            errors.append(exc)

    # Two loaders, one per core: the timeline on one, everything else on the other.
    others = [t for t in BIG_TABLES if t != "timeline_entry"]
    threads = [threading.Thread(target=run, args=(timeline, ["timeline_entry"], "timeline")),
               threading.Thread(target=run, args=(big, others, "other tables"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    with loader(conninfo) as conn:
        for statement in per_table[""]:
            conn.execute(statement)
        for table in BIG_TABLES + ["staff", "staff_role", "department", "tag", "tag_group", "channel",
                                   "funnel_stage", "custom_field", "sop", "sop_step"]:
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)")
        conn.execute("ANALYZE")
    timings["total"] = time.perf_counter() - start
    return timings


def count_rows(conninfo: str) -> dict[str, int]:
    with psycopg.connect(conninfo) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in (
            "staff", "customer", "follow_relation", "relation_tag", "group_chat", "group_member",
            "timeline_entry", "follow_up", "customer_stage", "customer_field_value", "sop_enrollment", "sop_task")}


def database_size(conninfo: str) -> tuple[int, int]:
    """(bytes of the schema's tables with indexes and TOAST, of which indexes)."""
    with psycopg.connect(conninfo) as conn:
        return conn.execute(
            "SELECT sum(pg_total_relation_size(c.oid)), sum(pg_indexes_size(c.oid)) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r'").fetchone()


# ---------------------------------------------------------------------------------------------
# Targets: who asks for what


# Followers who may use the sidebar (sidebar_session.py: not left, not disabled); the others get 401.
SIGNED_IN = ("JOIN staff s ON s.corp_id = r.corp_id AND s.userid = r.userid AND s.left_at IS NULL "
             "AND coalesce(s.status, 1) NOT IN (2, 5)")


def sample_targets(conninfo: str, count: int, seed: int = 11):
    """(profile targets [(external_userid, follower)], timeline starts [(external_userid,
    follower, (entry id, its occurred_at))]): profiles of uniformly random customers; timeline pages
    after random rows of the timeline (so customers in proportion to their history, at a random
    depth), each by an active follower."""
    rng = random.Random(seed)
    with psycopg.connect(conninfo) as conn:
        n = conn.execute("SELECT max(id) FROM customer").fetchone()[0]
        ids = [rng.randint(1, n) for _ in range(int(count * 1.2) + 20)]
        rows = conn.execute(
            "SELECT c.external_userid, array_agg(r.userid ORDER BY r.userid) FROM customer c "
            "JOIN follow_relation r ON r.corp_id = c.corp_id AND r.external_userid = c.external_userid "
            "AND r.status = 'active' " + SIGNED_IN
            + " WHERE c.id = ANY(%s) GROUP BY c.id, c.external_userid", (ids,)).fetchall()
        followers = dict(rows)
        by_id = dict(conn.execute("SELECT id, external_userid FROM customer WHERE id = ANY(%s)", (ids,)).fetchall())
        profiles = [(by_id[i], rng.choice(followers[by_id[i]])) for i in ids if by_id.get(i) in followers][:count]
        # Random timeline rows: pick ids in [1, max] (ids are dense), keep existing ones.
        tmax = conn.execute("SELECT max(id) FROM timeline_entry").fetchone()[0] or 0
        picks = [rng.randint(1, tmax) for _ in range(count + 50)] if tmax else []
        rows = conn.execute(
            "SELECT t.id, to_char(t.occurred_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), t.external_userid, "
            "array_agg(r.userid ORDER BY r.userid) FROM timeline_entry t "
            "JOIN follow_relation r ON r.corp_id = t.corp_id AND r.external_userid = t.external_userid "
            "AND r.status = 'active' " + SIGNED_IN + " WHERE t.id = ANY(%s) GROUP BY t.id", (picks,)).fetchall()
        starts = [(ext_id, rng.choice(users), (tid, at)) for tid, at, ext_id, users in rows]
        rng.shuffle(starts)
    return profiles, starts


def session_cookie(userid: str, cache: dict = {}) -> str:  # noqa: B006  (a deliberate cache)
    """The Flask session cookie sidebar/auth.py's login_session would set for this staff member."""
    if userid not in cache:
        app = Flask("bench_sidebar", root_path=str(REPO))
        app.secret_key = SECRET_KEY
        serializer = SecureCookieSessionInterface().get_signing_serializer(app)
        cache[userid] = serializer.dumps({"_permanent": True, "sidebar": {
            "corp_id": CORP_ID, "userid": userid, "exp": int(time.time() + 8 * 3600)}})
    return cache[userid]


# ---------------------------------------------------------------------------------------------
# Load: keep-alive clients on raw sockets (cheap: the load must not eat the server's cores)


async def http_get(conn: dict, port: int, path: str, headers: str) -> tuple[int, bytes]:
    if conn.get("writer") is None:
        conn["reader"], conn["writer"] = await asyncio.open_connection("127.0.0.1", port)
    reader, writer = conn["reader"], conn["writer"]
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{headers}\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length, chunked, close = 0, False, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value
        elif name == b"connection":
            close = value == b"close"
    if chunked:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            parts.append(await reader.readexactly(size + 2))
            if size == 0:
                break
        body = b"".join(p[:-2] for p in parts)
    else:
        body = await reader.readexactly(length)
    if close:
        writer.close()
        conn["writer"] = None
    return status, body


class Results:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: collections.Counter = collections.Counter()
        self.bad: collections.Counter = collections.Counter()  # 200s with the wrong shape
        self.samples: dict[str, str] = {}  # one example body per problem
        self.items = 0
        self.paged = 0  # timeline requests that carried `before`
        self.bytes = 0
        self.sizes: list[int] = []  # of the 200 answers
        self.elapsed = 0.0
        self.library: list[tuple[int, int]] = []  # (status, size) of the tag library, per page (client)

    def problem(self, kind: str, detail: str) -> None:
        self.bad[kind] += 1
        self.samples.setdefault(kind, detail[:400])

    @property
    def errors(self) -> int:
        return sum(v for k, v in self.statuses.items() if k != 200) + sum(self.bad.values())


def check_profile(result: Results, body: dict, ext_id: str, userid: str, openapi: bool) -> None:
    if openapi:
        missing = OPENAPI_KEYS - body.keys()
        if missing or body.get("external_userid") != ext_id:
            result.problem("openapi keys", f"missing {sorted(missing)}: {json.dumps(body)[:300]}")
        return
    missing = PROFILE_KEYS - body.keys()
    if missing:
        result.problem("profile keys", f"missing {sorted(missing)}")
        return
    if (body["customer"] or {}).get("external_userid") != ext_id:
        result.problem("customer.external_userid", json.dumps(body["customer"], ensure_ascii=False))
    if not body["relation"] or body["relation"].get("userid") != userid:
        result.problem("relation.userid", json.dumps(body["relation"], ensure_ascii=False))
    timeline = body["timeline"]
    if not isinstance(timeline, dict) or {"items", "next_before"} - timeline.keys():
        result.problem("timeline keys", json.dumps(timeline, ensure_ascii=False))
    elif len(timeline["items"]) > 20:
        result.problem("timeline_limit", f"{len(timeline['items'])} items")
    tags = body["tags"]  # the library itself: GET /sidebar/api/tag-library (before issue #16: "groups")
    if not isinstance(tags, dict) or {"selected", "personal", "editable"} - tags.keys() or not (
            "groups" in tags or "library_version" in tags):
        result.problem("tags keys", json.dumps(tags, ensure_ascii=False)[:300])
    result.items += len(timeline.get("items", [])) if isinstance(timeline, dict) else 0


def check_timeline(result: Results, body: dict, anchor: tuple[int, str], seen: set, limit: int):
    """Checks a page that follows `anchor` (the previous page's last entry: id, occurred_at) in
    the order newest first (occurred_at, id); returns the next anchor (None: the end, or a bad page)."""
    if {"items", "next_before"} - body.keys():
        result.problem("timeline keys", json.dumps(body, ensure_ascii=False)[:300])
        return None
    items = body["items"]
    if len(items) > limit:
        result.problem("limit", f"{len(items)} items > {limit}")
    if any({"id", "kind", "kind_label", "summary", "occurred_at", "userid", "source"} - item.keys()
           for item in items):
        result.problem("item keys", json.dumps(items[0], ensure_ascii=False))
        return None
    times = [anchor[1]] + [item["occurred_at"] for item in items]  # ISO, whole seconds: <= not <
    ids = [item["id"] for item in items]
    if any(a < b for a, b in zip(times, times[1:], strict=False)) or anchor[0] in ids or seen & set(ids):
        result.problem("order", f"after {anchor}: {[(i['id'], i['occurred_at']) for i in items[:4]]}…")
        return None
    seen.update(ids)
    result.items += len(items)
    if body["next_before"] is not None and body["next_before"] != ids[-1]:
        result.problem("next_before", f"{body['next_before']} is not the last id {ids[-1]}")
        return None
    return (ids[-1], items[-1]["occurred_at"]) if body["next_before"] is not None else None


async def run_clients(client, concurrency: int, result: Results) -> Results:
    """Run `concurrency` copies of the client coroutine; the wall time goes into `result`."""
    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    result.elapsed = time.perf_counter() - start
    return result


async def timed_get(result: Results, conn: dict, port: int, path: str, headers: str) -> dict | None:
    """One timed GET: the parsed 200 answer, or None (an error or another status, counted)."""
    start = time.perf_counter()
    try:
        async with asyncio.timeout(30):
            status, body = await http_get(conn, port, path, headers)
    except (OSError, ValueError, asyncio.IncompleteReadError, TimeoutError) as exc:
        result.statuses[type(exc).__name__] += 1
        conn["writer"] = None
        return None
    elapsed = time.perf_counter() - start
    result.statuses[status] += 1
    result.bytes += len(body)
    if status != 200:
        result.samples.setdefault(f"HTTP {status}", body[:300].decode(errors="replace"))
        return None
    result.latencies.append(elapsed)
    result.sizes.append(len(body))
    return json.loads(body)


async def drive_profiles(targets, port: int, concurrency: int, openapi: str | None) -> Results:
    result, queue = Results(), iter(targets)

    async def client() -> None:
        conn: dict = {}
        page_loaded = False
        for ext_id, userid in queue:
            if not openapi and not page_loaded:  # as the page does: the corp tag library once per load
                page_loaded = True
                cookie = f"Cookie: session={session_cookie(userid)}\r\n"
                status, library = await http_get(conn, port, "/sidebar/api/tag-library", cookie)
                if status == 200:  # then revalidated with its ETag (the page: when a profile names another)
                    etag = json.loads(library)["version"]
                    again, _ = await http_get(conn, port, "/sidebar/api/tag-library",
                                              cookie + f'If-None-Match: "{etag}"\r\n')
                    result.library.append((again, len(library)))
                else:
                    result.library.append((status, len(library)))
            if openapi:
                path, headers = f"/api/v1/customers/{ext_id}?timeline_limit=20", f"Authorization: Bearer {openapi}\r\n"
            else:
                path = f"/sidebar/api/customers/{ext_id}?timeline_limit=20"
                headers = f"Cookie: session={session_cookie(userid)}\r\n"
            answer = await timed_get(result, conn, port, path, headers)
            if answer is not None:
                check_profile(result, answer, ext_id, userid, bool(openapi))
        if conn.get("writer") is not None:
            conn["writer"].close()

    return await run_clients(client, concurrency, result)


async def drive_timeline(starts, count: int, port: int, concurrency: int, limit: int, pages: int) -> Results:
    """Each client takes a (customer, staff, anchor) start and pages back with next_before, up to
    `pages` pages or the end of the timeline, until `count` requests were sent."""
    result, queue, sent = Results(), iter(starts), [0]

    async def client() -> None:
        conn: dict = {}
        while sent[0] < count:
            item = next(queue, None)
            if item is None:
                break
            ext_id, userid, anchor = item
            cookie, seen = f"Cookie: session={session_cookie(userid)}\r\n", set()
            for _ in range(pages):
                if sent[0] >= count:
                    break
                sent[0] += 1
                path = f"/sidebar/api/customers/{ext_id}/timeline?before={anchor[0]}&limit={limit}"
                answer = await timed_get(result, conn, port, path, cookie)
                if answer is None:
                    break
                result.paged += 1
                anchor = check_timeline(result, answer, anchor, seen, limit)
                if anchor is None:
                    break
        if conn.get("writer") is not None:
            conn["writer"].close()

    return await run_clients(client, concurrency, result)


def postgres_cpu() -> dict[int, float]:
    """CPU seconds of each running postgres process (server and backends) on this machine."""
    result = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                head, _, rest = fh.read().rpartition(")")
        except OSError:
            continue
        if head.endswith("(postgres"):
            fields = rest.split()
            result[int(entry)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return result


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def probe(port: int, target: tuple[str, str]) -> tuple[int, bytes]:
    async def once():
        conn: dict = {}
        try:
            return await http_get(conn, port, f"/sidebar/api/customers/{target[0]}?timeline_limit=20",
                                  f"Cookie: session={session_cookie(target[1])}\r\n")
        finally:
            if conn.get("writer") is not None:
                conn["writer"].close()
    return asyncio.run(once())


# ---------------------------------------------------------------------------------------------
# EXPLAIN (ANALYZE, BUFFERS) of the statements behind one request, captured in this process


def explain_requests(env: dict, conninfo: str, requests: list[tuple[str, str | None]],
                     headers: dict | None = None) -> None:
    """Runs each (path, staff userid) request through the app in this process, capturing its SQL, then
    EXPLAINs every SELECT (with its parameters) and prints the slow ones' plans."""
    os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
    from sqlalchemy import event

    from scrm.app import create_app
    from scrm.extensions import db

    app = create_app()
    with app.app_context():
        for path, userid in requests:
            statements: list[tuple[str, object]] = []

            def capture(conn, cursor, statement, parameters, context, executemany, into=statements):
                into.append((statement, parameters))

            event.listen(db.engine, "before_cursor_execute", capture)
            client = app.test_client()
            if userid:
                client.set_cookie("session", session_cookie(userid))
            start = time.perf_counter()
            response = client.get(path, headers=headers)
            wall = (time.perf_counter() - start) * 1000
            event.remove(db.engine, "before_cursor_execute", capture)
            print(f"\nEXPLAIN: GET {path} -> {response.status_code}, {wall:.1f} ms in-process, "
                  f"{len(statements)} statements")
            with psycopg.connect(conninfo) as conn:
                for n, (statement, parameters) in enumerate(statements, 1):
                    first = statement.lstrip().split(None, 1)[0].upper()
                    if first not in ("SELECT", "WITH"):
                        print(f"  [{n}] {first} {statement.split(chr(10))[0][:90]}")
                        continue
                    plan = [row[0] for row in conn.execute(
                        "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters or None)]
                    ms = next((float(line.split(":")[1].split()[0]) for line in plan
                               if line.startswith("Execution Time")), 0.0)
                    seq = [line.strip() for line in plan if "Seq Scan" in line]
                    flat = " ".join(statement.split())
                    print(f"  [{n}] {ms:7.2f} ms  {flat[:150]}{'…' if len(flat) > 150 else ''}")
                    if ms > 2 or seq:
                        for line in plan:
                            print(f"        {line}")


# ---------------------------------------------------------------------------------------------


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                   help="PostgreSQL database to hold the throwaway schema (default: DATABASE_URL)")
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--staff", type=int, help="default 2,000 per 1,000,000 customers")
    p.add_argument("--relations", type=int, help="follow relations (default 3 per customer)")
    p.add_argument("--timeline", type=int, help="timeline rows (default 10 per customer)")
    p.add_argument("--groups", type=int, help="group chats (default 50,000 per 1,000,000 customers)")
    p.add_argument("--members", type=int, help="customer memberships of groups (default 1 per customer)")
    p.add_argument("--follow-ups", type=int, help="default 1 per 2 customers")
    p.add_argument("--requests", type=int, default=2000, help="per endpoint")
    p.add_argument("--concurrency", type=int, default=4, help="keep-alive clients")
    p.add_argument("--pages", type=int, default=5, help="timeline pages per customer (following next_before)")
    p.add_argument("--warmup", type=int, default=100, help="requests per endpoint before measuring")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=4, help="per gthread worker")
    p.add_argument("--worker-class", choices=("gthread", "sync"), default="gthread")
    p.add_argument("--endpoint", choices=("auto", "sidebar", "openapi"), default="auto",
                   help="auto: the sidebar's endpoints if they answer, else the Open API's customer detail")
    p.add_argument("--app-dir", type=Path, default=REPO, help="the checkout whose app gunicorn serves (default "
                   "this one; a worktree of an older commit gives a before figure from the same benchmark)")
    p.add_argument("--explain", action="store_true", help="EXPLAIN the queries of a profile and a timeline "
                   "request (also done when a p95 misses the target)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--keep", action="store_true", help="keep the generated schema (for --reuse)")
    group.add_argument("--reuse", metavar="SCHEMA", help="measure an existing --keep schema again")
    args = p.parse_args()
    if not args.database_url:
        p.error("--database-url (PostgreSQL) is required")

    url = make_url(args.database_url).set(drivername="postgresql")
    if url.get_backend_name() != "postgresql":
        p.error("this benchmark wants PostgreSQL")
    admin_info = url.render_as_string(hide_password=False)
    schema = args.reuse or f"scrm_bench_sidebar_{os.getpid()}"
    schema_url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    conninfo = schema_url.render_as_string(hide_password=False)
    db_url = schema_url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    sizes = Sizes.from_args(args)
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731

    tmp = tempfile.TemporaryDirectory(prefix="scrm-bench-")
    embedded = None if os.environ.get("REDIS_URL") else EmbeddedRedis().start()
    redis_url = embedded.url if embedded else os.environ["REDIS_URL"]
    env = dict(os.environ, SECRET_KEY=SECRET_KEY, DATABASE_URL=db_url, REDIS_URL=redis_url,
               WECOM_CORP_ID=CORP_ID, WECOM_AGENT_ID=AGENT_ID, WECOM_SECRET="bench",
               WECOM_TOKEN=TOKEN, WECOM_AES_KEY=AES_KEY, SCRM_SPOOL_DIR=f"{tmp.name}/spool",
               LOG_LEVEL="WARNING", SCRM_NIGHTLY_SYNC_AT="off",
               PYTHONPATH=os.pathsep.join(filter(None, [str(args.app_dir), os.environ.get("PYTHONPATH")])))
    _cb.REPO = args.app_dir.resolve()  # gunicorn's working directory (bench/callbacks.py)
    server, created, timings = None, False, {}
    try:
        if not args.reuse:
            with psycopg.connect(admin_info, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {schema}")
            created = True
            subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
                           cwd=REPO, env=env, check=True, timeout=120, stdout=subprocess.DEVNULL)
            log(f"generating into schema {schema}: {sizes}")
            timings = generate(conninfo, sizes, log)
        rows = count_rows(conninfo)
        size, index_size = database_size(conninfo)
        profiles, starts = sample_targets(conninfo, args.requests + args.warmup)
        warm_profiles, profiles = profiles[:args.warmup], profiles[args.warmup:]
        warm_starts, starts = starts[:args.warmup], starts[args.warmup:]

        port = free_port()
        server = start_gunicorn(args, port, env)
        pids = server_pids(server.pid)
        openapi = None
        if args.endpoint != "openapi":
            status, body = probe(port, profiles[0])
            if status != 200 and args.endpoint == "sidebar":
                sys.exit(f"the sidebar profile endpoint answered {status}: {body[:300]!r}")
            if status != 200:
                log(f"the sidebar profile endpoint answered {status} (not written yet?): "
                    f"measuring GET /api/v1/customers/<id> instead")
        if args.endpoint == "openapi" or status != 200:
            openapi = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "scrm", "token", "create",
                                      "bench"], cwd=REPO, env=env, check=True, timeout=60,
                                     capture_output=True, text=True).stdout.strip().splitlines()[-1]

        asyncio.run(drive_profiles(warm_profiles, port, args.concurrency, openapi))
        if not openapi:
            asyncio.run(drive_timeline(warm_starts, args.warmup, port, args.concurrency, 20, args.pages))
        cpu_before, own_before, pg_before = cpu_seconds(pids), time.process_time(), postgres_cpu()
        profile = asyncio.run(drive_profiles(profiles, port, args.concurrency, openapi))
        cpu_between, pg_between = cpu_seconds(pids), postgres_cpu()
        profile_cpu = sum(b - a for a, b in zip(cpu_before[1:-1], cpu_between[1:-1], strict=True))
        profile_pg = cpu_delta(pg_before, pg_between)
        timeline = None
        if not openapi:
            timeline = asyncio.run(drive_timeline(starts, args.requests, port, args.concurrency, 20, args.pages))
        elapsed = profile.elapsed + (timeline.elapsed if timeline else 0)
        cpu = [(b - a) / elapsed for a, b in zip(cpu_before, cpu_seconds(pids), strict=True)]
        pg = cpu_delta(pg_before, postgres_cpu()) / elapsed
        own = (time.process_time() - own_before) / elapsed
        rss = peak_rss_mb(pids)
        stop(server)
        server = None

        print(f"database:     PostgreSQL, schema {schema}: {size / 2**30:.2f} GB "
              f"({index_size / 2**30:.2f} GB of it indexes)")
        print("rows:         " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))
        if timings:
            print(f"generation:   {timings['total']:.0f} s in all: "
                  + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items() if k != "total"))
        threads = f" ({args.threads} threads)" if args.worker_class == "gthread" else ""
        print(f"gunicorn:     {args.workers} x {args.worker_class}{threads}   clients: {args.concurrency} "
              f"keep-alive   warm-up: {args.warmup} requests per endpoint")
        failed = False
        for name, result in (("profile" if not openapi else "openapi detail", profile), ("timeline", timeline)):
            if result is None:
                print("timeline:     not measured (the Open API has no timeline endpoint)")
                continue
            lat = sorted(result.latencies)
            extra = (f", {result.paged} of them with before" if name == "timeline" else "")
            print(f"{name + ':':<14}{sum(result.statuses.values())} requests{extra} in {result.elapsed:.1f} s: "
                  f"{len(lat) / result.elapsed:,.0f}/s, {result.bytes / max(1, len(lat)) / 1024:.1f} KB and "
                  f"{result.items / max(1, len(lat)):.1f} timeline items per answer")
            print(f"{'':14}p50 {percentile_ms(lat, 0.50):.1f} ms   p95 {percentile_ms(lat, 0.95):.1f} ms   "
                  f"p99 {percentile_ms(lat, 0.99):.1f} ms   max {percentile_ms(lat, 1):.1f} ms   "
                  f"target p95 < {TARGET_P95_MS} ms: {'met' if percentile_ms(lat, 0.95) < TARGET_P95_MS else 'MISSED'}")
            non200 = {k: v for k, v in result.statuses.items() if k != 200}
            print(f"{'':14}errors {result.errors}: non-200 {sum(non200.values())} {non200 or ''}"
                  f" wrong shape {sum(result.bad.values())} {dict(result.bad) or ''}")
            for kind, sample in result.samples.items():
                print(f"{'':14}  {kind}: {sample}")
            p95 = percentile_ms(lat, 0.95)
            print(f"{'':14}p95 bound {TARGET_P95_MS} ms: ratio {p95 / TARGET_P95_MS:.2f}")
            if name != "timeline":
                sizes = sorted(result.sizes)
                mean_kb, p95_kb = sum(sizes) / max(1, len(sizes)) / 1024, percentile_ms(sizes, 0.95) / 1000 / 1024
                print(f"{'':14}answer size mean {mean_kb:.1f} KB, p95 {p95_kb:.1f} KB   bound {TARGET_SIZE_KB} KB: "
                      f"ratio {max(mean_kb, p95_kb) / TARGET_SIZE_KB:.2f} "
                      f"({'met' if max(mean_kb, p95_kb) < TARGET_SIZE_KB else 'MISSED'})")
                per = profile_cpu / max(1, sum(result.statuses.values())) * 1000
                print(f"{'':14}CPU per request: gunicorn workers {per:.2f} ms   bound {TARGET_CPU_MS} ms: "
                      f"ratio {per / TARGET_CPU_MS:.2f} ({'met' if per <= TARGET_CPU_MS else 'MISSED'})   "
                      f"PostgreSQL {profile_pg / max(1, sum(result.statuses.values())) * 1000:.2f} ms")
                if result.library:
                    statuses = collections.Counter(status for status, _ in result.library)
                    print(f"{'':14}tag library (GET /sidebar/api/tag-library, once per page): "
                          f"{result.library[0][1] / 1024:.1f} KB; revalidated with its ETag: {dict(statuses)}")
                    failed |= set(statuses) != {304}
            failed |= bool(result.errors)
            args.explain |= p95 >= TARGET_P95_MS
        print(f"CPU (cores):  workers {' + '.join(f'{c:.2f}' for c in cpu[1:-1])}, PostgreSQL {pg:.2f}, "
              f"load generator {own:.2f}, whole machine {cpu[-1]:.2f} of {os.cpu_count()} "
              f"(anything else, e.g. other jobs on the machine: {cpu[-1] - sum(cpu[:-1]) - own - pg:.2f})")
        print(f"peak RSS:     {rss:.0f} MB (gunicorn master + {args.workers} workers)")
        if args.explain and args.app_dir.resolve() != REPO:
            print("explain:      skipped (it runs this checkout's app in-process, not --app-dir's)")
        elif args.explain and not openapi:
            ext_id, userid, (before, _) = starts[0]
            explain_requests(env, conninfo, [
                (f"/sidebar/api/customers/{profiles[0][0]}?timeline_limit=20", profiles[0][1]),
                (f"/sidebar/api/customers/{ext_id}/timeline?before={before}&limit=20", userid)])
        elif args.explain:
            explain_requests(env, conninfo, [(f"/api/v1/customers/{profiles[0][0]}?timeline_limit=20", None)],
                             {"Authorization": f"Bearer {openapi}"})
        if args.keep:
            print(f"kept:         schema {schema}; measure again with --reuse {schema}, "
                  f"drop with DROP SCHEMA {schema} CASCADE")
        return 1 if failed else 0
    finally:
        if server is not None:
            stop(server)
        if embedded:
            embedded.cleanup()
        if created and not args.keep:
            with psycopg.connect(admin_info, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
