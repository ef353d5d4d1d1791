"""The 客户群报表 page in a real browser over the sandbox stack, as a manager would use it: a member's
new group gets customers (one by link) and loses one; a group SOP for the member's new groups
leaves a reminder waiting for the owner; after `flask scrm group-stats rebuild` and
`flask scrm reports rebuild` the page shows the figures, both charts, the tables per owner and
per plan, filters to the owner and exports an XLSX. Screenshot console-group-report.png in
$SCRM_ARTIFACTS_DIR."""
from __future__ import annotations

import io
import time
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
GROUP = "报表群<b>甲</b>"
PLAN = "新群欢迎<i>计划</i>"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with console_stack(tmp_path_factory, "console-group-report", SANDBOX_CUSTOMERS="6", SANDBOX_STAFF="3",
                       SANDBOX_GROUPS="0") as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright):  # noqa: F811
    yield from _browser(playwright, "zh-CN")


def test_a_manager_reads_the_groups_report_filters_and_exports(stack, browser):
    sb = Sandbox(stack)
    create_admin(sb)
    staff = [s for s in sb.world("staff")["staff"] if s["has_contact"] and s["active"]]
    owner, owner_name = staff[0]["userid"], staff[0]["name"]
    customers = [sb.act("add_customer", userid=owner, state="group_report", name=f"群报表客户{n}")["external_userid"]
                 for n in range(3)]
    wait_for(lambda: all(sb.api(f"customers/{e}") for e in customers), "the customers in the service")
    plan = sb.post("group-sops", {"name": PLAN, "targets": {"owners": [owner]}, "delivery": "reminder",
                                  "schedule": {"kind": "group_created"},
                                  "steps": [{"name": "建群欢迎", "delay_minutes": 0, "text": "欢迎"}]})
    time.sleep(1.1)  # the group is created after the plan starts (WeCom's times are whole seconds)
    chat_id = sb.act("create_group", owner=owner, name=GROUP, member_ids=customers[:2])["chat_id"]

    def members(quit: bool = False) -> set[str]:
        found = sb.api(f"groups/{chat_id}", include_quit="true") or {}
        return {m["member_id"] for m in found.get("members", []) if bool(m.get("quit_time")) == quit}
    # one change at a time: the service reads the group back from WeCom on each event
    wait_for(lambda: members() == {owner, *customers[:2]}, "the new group in the service")
    sb.act("join_group", chat_id=chat_id, member_ids=[customers[2]], scene="link")
    wait_for(lambda: customers[2] in members(), "the join by link in the service")
    sb.act("leave_group", chat_id=chat_id, member_ids=[customers[0]])
    wait_for(lambda: members(quit=True) == {customers[0]}, "the leave in the service")
    wait_for(lambda: (sb.flask("scrm", "tick"),
                      [e["status"] for e in sb.api(f"group-sops/{plan['id']}/executions") or []] == ["awaiting"])[1],
             "the group SOP reminder waiting for the owner")
    today = datetime.now(SHANGHAI).date().isoformat()
    sb.flask("scrm", "group-stats", "rebuild", "--from", today, "--to", today)
    sb.flask("scrm", "reports", "rebuild", "--from", today, "--to", today)

    page = browser.new_page()
    page.set_viewport_size({"width": 1440, "height": 1100})
    errors, outside = watch(page)
    page.goto(f"{sb.service}/console/login?next=/console/reports/groups")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/console/reports/groups")
    expect(page.locator('.report-nav-link.active')).to_have_text("客户群报表")
    expect(page.locator('[data-figure="groups"] .figure-value')).to_have_text("1")
    expect(page.locator('[data-figure="members"] .figure-value')).to_have_text("3")  # owner + 2 customers
    expect(page.locator('[data-figure="leaves"] .figure-value')).to_have_text("1")
    page.locator("#group-report-chart canvas").wait_for(timeout=20_000)
    page.locator("#group-sop-chart canvas").wait_for(timeout=20_000)
    shot(page, "console-group-report")

    # the owner alone: one row; the plan's reminder waiting for them (its name shown as text)
    page.locator('[data-field="userid"]').click()
    page.keyboard.type(owner_name)
    page.locator(".el-select-dropdown__item:visible", has_text=owner_name).first.click()
    rows = page.locator('[data-table="owners"] .el-table__body-wrapper .el-table__row')
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(owner_name)
    page.get_by_role("tab", name="按SOP计划").click()
    plan_rows = page.locator('[data-table="plans"] .el-table__body-wrapper .el-table__row')
    expect(plan_rows).to_have_count(1)
    expect(plan_rows.first).to_contain_text(PLAN)

    page.locator('[data-action="export"]').click()
    with page.expect_download() as download:
        page.locator('[data-export="owners-xlsx"]:visible').click()
    book = load_workbook(io.BytesIO(open(download.value.path(), "rb").read()))
    exported = [[c.value for c in row] for row in book.active.iter_rows()]
    assert exported[0][:5] == ["群主", "群主账号", "部门", "群数", "群成员"]
    assert [(row[1], row[3], row[4]) for row in exported[1:]] == [(owner, 1, 3), (None, 1, 3)]
    by_label = dict(zip(exported[0], exported[1], strict=True))
    assert (by_label["链接入群"], by_label["退群"], by_label["主动退群"], by_label["SOP等待中"]) == (1, 1, 1, 1)
    assert by_label["入群"] >= 3 and exported[-1][0] == "合计"
    assert errors == [] and outside == []
