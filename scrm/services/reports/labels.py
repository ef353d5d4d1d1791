"""What the follow-up report's figures are called in Chinese: the console's table and chart, the
CSV / XLSX exports and the drill-down titles all read this one table."""
from __future__ import annotations

FOLLOW_UP_FIGURES: dict[str, str] = {
    "customers": "客户数", "new_customers": "新增客户", "lost": "流失合计", "lost_by_staff": "删除客户",
    "lost_by_customer": "被客户删除", "lost_other": "其他流失", "transferred_out": "转出客户",
    "follow_ups": "跟进记录", "next_due": "到期跟进", "next_overdue": "逾期未跟进",
    "sop_due": "SOP到期", "sop_confirmed": "SOP已完成", "sop_pending": "SOP待完成",
    "recall_due": "召回到期", "recall_confirmed": "召回已完成", "recall_pending": "召回待完成",
    "first_replies": "首次回复客户", "first_reply_avg_seconds": "首次回复平均(秒)",
    "chats": "聊天数", "messages": "发送消息数", "reply_rate": "回复率(%)", "avg_reply_minutes": "平均回复(分钟)",
}

# The channel report (渠道报表): console table and chart, exports (money in yuan there).
NO_CHANNEL_LABEL = "无渠道"
CHANNEL_FIGURES: dict[str, str] = {
    "adds": "新增客户", "welcomed": "欢迎语已发送", "welcome_rate": "欢迎语送达率(%)",
    "eligible_7": "满7天客户", "retained_7": "7日留存", "retention_7": "7日留存率(%)",
    "eligible_30": "满30天客户", "retained_30": "30日留存", "retention_30": "30日留存率(%)",
    "staged": "进入后续阶段", "staged_rate": "阶段推进率(%)", "lost": "流失客户",
    "cost_fen": "成本(元)", "cost_per_add_fen": "单客成本(元)",
    "cost_per_retained_7_fen": "7日留存单客成本(元)", "cost_per_retained_30_fen": "30日留存单客成本(元)",
}
# The groups report (客户群报表): per owner, per SOP plan.
GROUP_REPORT_FIGURES: dict[str, str] = {
    "groups": "群数", "members": "群成员", "customers": "客户成员", "staff": "员工成员", "members_start": "期初成员",
    "growth": "净增成员", "joins": "入群", "joins_invite": "邀请入群", "joins_link": "链接入群",
    "joins_qrcode": "扫码入群", "joins_group_code": "活码入群", "leaves": "退群", "leaves_self": "主动退群",
    "leaves_removed": "被移出群", "new_chat_cnt": "新建群(企微)", "chat_has_msg": "有消息群次(企微)",
    "new_member_cnt": "新成员(企微)", "member_has_msg": "发言成员人次(企微)", "msg_total": "群消息数(企微)",
    "chat_total": "群总数(企微)", "member_total": "群成员总数(企微)",
    "executions": "SOP执行", "sent": "SOP已发送", "waiting": "SOP等待中", "failed": "SOP失败",
    "failed_not_sent": "群主未发送", "failed_already_received": "已收到其他群发", "capped": "超出月上限",
    "skipped": "其他跳过",
}
GROUP_SOP_COLUMNS = ("executions", "sent", "waiting", "failed", "failed_not_sent", "failed_already_received",
                     "capped", "skipped")
