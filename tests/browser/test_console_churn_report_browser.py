"""The 流失与召回 page in a real browser over the sandbox stack: a member's customers leave (one
deletes the member, the member deletes another), the nightly churn scoring and the report
aggregation run, and a manager reads the losses per member, month and channel, the risk levels,
filters by the member and exports the table. Screenshot console-reports-churn.png in
$SCRM_ARTIFACTS_DIR."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.browser.console_support import PASSWORD, console_stack, create_admin
from tests.browser.test_console_browser import watch
from tests.browser.test_sidebar_browser import _browser, playwright, shot  # noqa: F401  (fixture)
from tests.stack import Sandbox, wait_for

pytestmark = pytest.mark.browser
SHANGHAI = timezone(timedelta(hours=8))
STATE = "churn_browser"
NAMES = ["流失客户<b>甲</b>", "流失客户乙", "留存客户丙"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with console_stack(tmp_path_factory, "console-churn-report", SANDBOX_CUSTOMERS="4", SANDBOX_STAFF="3") as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright):  # noqa: F811
    yield from _browser(playwright, "zh-CN")


def test_a_manager_reads_losses_and_risk_levels_filters_and_exports(stack, browser):
    sb = Sandbox(stack)
    create_admin(sb)
    staff = [s for s in sb.world("staff")["staff"] if s["has_contact"] and s["active"]]
    member, member_name = staff[0]["userid"], staff[0]["name"]
    added = [sb.act("add_customer", userid=member, state=STATE, name=name)["external_userid"] for name in NAMES]
    wait_for(lambda: all(sb.api(f"customers/{e}") for e in added), "the customers in the service")
    sb.act("customer_deletes_staff", userid=member, external_userid=added[0])
    sb.act("staff_deletes_customer", userid=member, external_userid=added[1])

    def ended() -> bool:
        statuses = []
        for external_userid in added[:2]:
            detail = sb.api(f"customers/{external_userid}") or {}
            statuses += [f.get("status") for f in detail.get("relations", [])
                         if f.get("userid") == member]
        return sorted(statuses) == ["deleted_by_customer", "deleted_by_staff"]
    wait_for(ended, "both relations ended in the service")
    today = datetime.now(SHANGHAI).date().isoformat()
    sb.flask("scrm", "churn", "rebuild", "--from", today)  # scores: the two ended relations are lost
    sb.flask("scrm", "reports", "rebuild", "--from", today, "--to", today)

    page = browser.new_page()
    page.set_viewport_size({"width": 1440, "height": 960})
    errors, outside = watch(page)
    page.goto(f"{sb.service}/console/login?next=/console/reports/churn")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/console/reports/churn")
    expect(page.locator('.report-nav-link.active')).to_have_text("流失与召回")
    lost = page.locator('[data-figure="lost"] .figure-value')
    expect(lost).not_to_have_text("0")
    assert int(lost.inner_text()) >= 2
    page.locator("#churn-month-chart canvas").wait_for(timeout=20_000)
    shot(page, "console-reports-churn")

    # one member: their row with both losses, and the two ended relations at risk level 流失
    page.locator('[data-field="userid"]').click()
    page.keyboard.type(member_name)
    page.locator(".el-select-dropdown__item:visible", has_text=member_name).first.click()
    rows = page.locator('[data-table="staff"] .el-table__body-wrapper .el-table__row')
    expect(rows).to_have_count(1)
    expect(page.locator(f'[data-table="staff"] [data-cell="lost:{member}"]').first).to_have_text("2")
    expect(page.locator(f'[data-table="staff"] [data-cell="lost_by_customer:{member}"]').first).to_have_text("1")
    at_lost = page.locator(f'[data-table="staff"] [data-cell="risk_lost:{member}"]').first
    assert int(at_lost.inner_text()) >= 2  # the two ended relations (and any the sandbox left silent long)
    expect(page.locator('[data-figure="lost"] .figure-value')).to_have_text("2")
    page.get_by_role("tab", name="按渠道").click()
    expect(page.locator('[data-table="channels"]')).to_contain_text(STATE)

    with page.expect_download() as download:
        page.locator('[data-action="export"]').click()
        page.locator('[data-export="staff"]:visible').click()
    book = load_workbook(io.BytesIO(open(download.value.path(), "rb").read()))
    exported = [[c.value for c in row] for row in book.active.iter_rows()]
    header = exported[0]
    assert header[:4] == ["成员", "成员账号", "部门", "流失合计"]
    assert [row[1] for row in exported[1:-1]] == [member]
    row = dict(zip(header, exported[1], strict=True))
    assert (row["流失合计"], row["被客户删除"], row["删除客户"]) == (2, 1, 1)
    assert row["流失风险"] == int(at_lost.inner_text())
    assert errors == [] and outside == []
