"""WeCom's transfer errcodes and result statuses, in words for the operator (docs/handover.md).

Limits (docs/wecom/api.md#transfers): at most 100 customers / 100 groups per call (we split);
a customer at most twice in 90 days (40128, also checked before calling); the customer has 24 h
to refuse (the transfer stays `waiting` and is polled until final)."""
from __future__ import annotations

from scrm.models import ItemStatus

PER_CALL = 100  # external_userid[] of (resigned/)transfer_customer; chat_id_list of group transfers
TRANSFERS_PER_WINDOW = 2  # per customer per 90 days (40128)
WINDOW_DAYS = 90
TOO_OFTEN = 40128

ERRCODES: dict[int, tuple[str, str]] = {  # errcode -> (item status, reason)
    40096: (ItemStatus.FAILED, "客户 ID 无效：WeCom 找不到这位客户"),
    40097: (ItemStatus.FAILED, "原跟进成员尚未离职：请改用在职转接"),
    40098: (ItemStatus.FAILED, "接替成员尚未实名认证或未激活，不能接替客户"),
    40099: (ItemStatus.LIMIT, "接替成员的客户数已达上限，请换一位接替成员"),
    40100: (ItemStatus.FAILED, "该客户已在转接流程中"),
    40128: (ItemStatus.LIMIT, "该客户 90 天内已转接 2 次（WeCom 规定每位客户 90 天内最多转接两次），请稍后再试"),
    40129: (ItemStatus.FAILED, "该客户正在转接中，请等待上一次转接结束"),
    40130: (ItemStatus.FAILED, "原跟进成员与接替成员相同"),
    40131: (ItemStatus.FAILED, "原成员已不是该客户的跟进人（客户可能已删除或已被转接）"),
    60111: (ItemStatus.FAILED, "成员不存在或已离职"),
    90500: (ItemStatus.FAILED, "群主尚未离职：请改用在职转接"),
    90501: (ItemStatus.FAILED, "不是客户群，不能转接"),
    40050: (ItemStatus.FAILED, "客户群不存在或已解散"),
}

RESULT_STATUSES: dict[int, tuple[ItemStatus, str | None]] = {  # transfer_result status
    1: (ItemStatus.DONE, None),
    2: (ItemStatus.WAITING, "等待接替：客户可在 24 小时内拒绝，WeCom 到期自动完成"),
    3: (ItemStatus.REFUSED, "客户拒绝了接替，仍由原成员名下待分配"),
    4: (ItemStatus.LIMIT, "接替成员的客户数已达上限，接替失败"),
    5: (ItemStatus.WAITING, "WeCom 暂无接替记录"),
}

FAIL_REASONS = {  # transfer_fail FailReason
    "customer_refused": (ItemStatus.REFUSED, "客户拒绝了接替（transfer_fail）"),
    "customer_limit_exceed": (ItemStatus.LIMIT, "接替成员的客户数已达上限（transfer_fail）"),
}

NO_SUCCESSOR = "未找到接替成员：请指定接替成员"
GROUP_TOO_OFTEN = "该群 90 天内已在职转接 2 次（WeCom 规定每个群 90 天内最多在职转接两次），请稍后再试"


def for_errcode(errcode: int, errmsg: str = "") -> tuple[ItemStatus, str]:
    status, reason = ERRCODES.get(errcode, (ItemStatus.FAILED, f"WeCom 拒绝了转接：errcode {errcode} {errmsg}".strip()))
    return status, reason


def limits() -> dict:
    """WeCom's limits, as the API reports them next to a batch."""
    return {"per_call": PER_CALL, "transfers_per_customer": TRANSFERS_PER_WINDOW, "window_days": WINDOW_DAYS,
            "refuse_within_hours": 24,
            "text": f"每次调用最多 {PER_CALL} 位客户或 {PER_CALL} 个群（自动分批）；"
                    f"每位客户 {WINDOW_DAYS} 天内最多转接 {TRANSFERS_PER_WINDOW} 次；"
                    "客户可在 24 小时内拒绝，期间状态为「等待接替」。"}
