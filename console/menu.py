"""The left menu: every section of the console, in order. A section whose page is not built yet
opens a 「即将推出」 page (console/pages.py), never a broken link."""
from __future__ import annotations

from dataclasses import dataclass

from console.access import can_open


@dataclass(frozen=True)
class Section:
    slug: str   # the URL under /console/ ("" for the 工作台)
    title: str
    icon: str   # an @element-plus/icons-vue component name
    built: bool = False
    summary: str = ""  # what the page will do (shown on 「即将推出」)


SECTIONS: tuple[Section, ...] = (
    Section("", "工作台", "Odometer", built=True),
    Section("customers", "客户", "User", built=True,
            summary="按标签、阶段、渠道、负责人等筛选客户，保存分群，批量打标签和群发。"),
    Section("groups", "客户群", "ChatDotRound", built=True, summary="客户群列表、群成员与群数据分析。"),
    Section("mass-messages", "客户群发", "Promotion", built=True),
    Section("channels", "渠道活码", "Postcard", built=True,
            summary="创建渠道活码，下载二维码，查看每个活码带来的客户。"),
    Section("welcome", "欢迎语", "ChatLineSquare", built=True, summary="编辑欢迎语模板，实时预览占位符效果。"),
    Section("sops", "客户SOP", "List", built=True, summary="客户SOP的配置、执行日历与执行结果。"),
    Section("group-sops", "群SOP", "Tickets", built=True, summary="群SOP的配置、执行日历与执行结果。"),
    Section("community", "社群运营", "Connection", built=True, summary="群活码与入群欢迎语。"),
    Section("churn", "流失与召回", "Warning", built=True, summary="流失风险客户与召回方案。"),
    Section("library", "内容库", "Collection", built=True, summary="话术与素材的管理。"),
    Section("reports", "报表", "DataAnalysis", built=True, summary="跟进报表：成员与部门的客户、跟进与回复数据。"),
    Section("settings", "设置", "Setting", built=True, summary="企业标签、客户群标签、销售阶段与自定义字段。"),
    Section("roles", "成员角色", "Avatar", built=True),
    Section("jobs", "任务中心", "Finished", built=True),
    Section("operations", "运维", "Monitor", built=True,
            summary="运行状态、失败任务重试、回调记录、同步记录与审计日志。"),
)
BY_SLUG = {section.slug: section for section in SECTIONS}


def menu() -> list[dict]:
    """The sections the signed-in principal's role can use (console/access.py)."""
    return [{"slug": s.slug, "title": s.title, "icon": s.icon, "href": f"/console/{s.slug}"}
            for s in SECTIONS if can_open(s.slug)]
