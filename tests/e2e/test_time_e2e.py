"""End-to-end: 时间快进 on the whole stack in sandbox mode. A customer added and never spoken to,
a customer who replies (the simulator's chat archive, pulled on msgaudit_notify); the simulator's
advance_time moves every process's clock 31 days and the sweeps catch up at once: the silent
customer is scored dormant, the one who replied is not silent since the add.

Always a stack of its own (tests.stack.sandbox_stack), never the one `make prod-check` attaches:
that one runs in real mode, where the clock never moves, and a jump would move the clock of the
other tests sharing it."""
from __future__ import annotations

import pytest

from tests.stack import Sandbox, sandbox_stack, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with sandbox_stack(tmp_path_factory.mktemp("e2e-time"), "e2e-time", SANDBOX_CUSTOMERS="60",
                       SANDBOX_STAFF="4", SANDBOX_GROUPS="4", SANDBOX_LATENCY_MS="0-20",
                       SCRM_CHURN_SCORING_AT="04:30") as running:
        yield running


def test_advancing_31_days_turns_a_silent_customer_dormant(stack):
    sb = Sandbox(stack)
    staff = next(s for s in sb.world("staff")["staff"] if s["has_contact"] and s["active"])["userid"]
    silent = sb.act("add_customer", userid=staff, name="沉默的客户", welcome_code=False)["external_userid"]
    talker = sb.act("add_customer", userid=staff, name="回复的客户", welcome_code=False)["external_userid"]
    for customer in (silent, talker):
        wait_for(lambda c=customer: sb.api(f"customers/{c}"), "the added customer")
    sb.act("customer_replies", userid=staff, external_userid=talker, text="收到，谢谢")

    moved = sb.act("advance_time", days=31)
    assert moved["offset_days"] == 31 and moved["callbacks"][0]["event"] == "sandbox_clock"
    # days_silent counts to the web process's now, whose offset is cached for up to a second
    # (scrm/sandbox_clock.py): the scoring can finish inside that second.
    risk = wait_for(lambda: (lambda r: r if r and r["level"] == "dormant" and r["days_silent"] >= 30 else None)(
        sb.api(f"churn/relations/{staff}/{silent}")), "the silent customer scored dormant, 30+ days silent", 60)
    assert risk["last_interaction_at"] is None
    replied = sb.api(f"churn/relations/{staff}/{talker}")
    assert replied["last_inbound_at"] is not None and replied["reply_days_90"] == 1
