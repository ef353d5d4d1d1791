"""The 报表 page in a real browser over the sandbox stack, as a manager would use it (issue #15's
walk): the follow-up report for a member, the customers behind a figure, an XLSX export; then
the morning digest arriving in the simulator as a template card. Screenshots
console-reports-*.png in $SCRM_ARTIFACTS_DIR."""
from __future__ import annotations

import io
from datetime import UTC, datetime, time, timedelta, timezone

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.browser.console_support import PASSWORD, console_stack, create_admin
from tests.browser.test_console_browser import watch
from tests.browser.test_sidebar_browser import _browser, playwright, shot  # noqa: F401  (fixture)
from tests.stack import Sandbox, wait_for

pytestmark = pytest.mark.browser
SHANGHAI = timezone(timedelta(hours=8))
NAMES = ["报表客户<i>甲</i>", "报表客户乙", "报表客户丙"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with console_stack(tmp_path_factory, "console-reports", SANDBOX_CUSTOMERS="6", SANDBOX_STAFF="3") as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright):  # noqa: F811
    yield from _browser(playwright, "zh-CN")


def utc_iso(day, hhmm: str) -> str:
    """A corp-local (Asia/Shanghai) time on ``day`` as the naive UTC `flask scrm tick --now` takes."""
    at = datetime.combine(day, time.fromisoformat(hhmm), tzinfo=SHANGHAI).astimezone(UTC)
    return at.replace(tzinfo=None).isoformat()


def test_a_manager_reads_the_follow_up_report_drills_exports_and_gets_the_digest(stack, browser):
    sb = Sandbox(stack)
    create_admin(sb)
    staff = [s for s in sb.world("staff")["staff"] if s["has_contact"] and s["active"]]
    member, manager = staff[0]["userid"], staff[1]["userid"]
    member_name = staff[0]["name"]
    added = [sb.act("add_customer", userid=member, state="reports_browser", name=name)["external_userid"]
             for name in NAMES]
    wait_for(lambda: all(sb.api(f"customers/{e}") for e in added), "the customers in the service")
    today = datetime.now(SHANGHAI).date()
    sb.flask("scrm", "reports", "rebuild", "--from", today.isoformat(), "--to", today.isoformat())

    page = browser.new_page()  # the context accepts downloads (Playwright's default)
    page.set_viewport_size({"width": 1440, "height": 960})
    errors, outside = watch(page)
    page.goto(f"{sb.service}/console/login?next=/console/reports")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/console/reports")
    new = page.locator('[data-figure="new_customers"] .figure-value')
    expect(new).not_to_have_text("0")
    assert int(new.inner_text()) >= len(NAMES)
    page.locator("#report-chart canvas").wait_for(timeout=20_000)
    shot(page, "console-reports")

    # one member: their row, then the customers behind their 新增客户
    page.locator('[data-field="userid"]').click()
    page.keyboard.type(member_name)
    page.locator(".el-select-dropdown__item:visible", has_text=member_name).first.click()
    rows = page.locator('[data-table="staff"] .el-table__body-wrapper .el-table__row')
    expect(rows).to_have_count(1)
    rows.first.locator(f'[data-drill="new_customers:{member}"]').click()
    drawer = page.locator(".drill-drawer")
    expect(drawer.locator('[data-table="drill"] .el-table__row')).to_have_count(len(NAMES), timeout=20_000)
    for name in NAMES:  # customer-controlled text shown as text
        expect(drawer.locator('[data-table="drill"]')).to_contain_text(name)
    shot(page, "console-reports-drill")
    with page.expect_download() as download:
        drawer.locator('[data-action="export-drill"]').click()
    book = load_workbook(io.BytesIO(open(download.value.path(), "rb").read()))
    exported = [[c.value for c in row] for row in book.active.iter_rows()]
    assert exported[0] == ["成员", "成员账号", "客户", "客户ID", "时间"]
    assert sorted(row[2] for row in exported[1:]) == sorted(NAMES)
    assert errors == [] and outside == []

    # the morning digest: the night's aggregation at 05:00, the digest at 08:30 the next day
    sb.flask("scrm", "role", "set", manager, "--role", "manager", "--scope", "corp")
    tomorrow = today + timedelta(days=1)
    sb.flask("scrm", "tick", "--now", utc_iso(tomorrow, "05:01"))
    sb.flask("scrm", "tick", "--now", utc_iso(tomorrow, "08:31"))

    def digest():
        return [m for m in sb.feed("app_message") if m["touser"] == [manager] and m["msgtype"] == "template_card"]
    wait_for(digest, "the manager's morning digest in the simulator")
    card = digest()[0]["content"]
    assert card["main_title"]["title"].startswith("团队昨日跟进")
    assert int(card["emphasis_content"]["title"]) >= len(NAMES)
    assert "/console/reports?from=" in card["card_action"]["url"]
