"""The 渠道报表 page in a real browser over the sandbox stack: an operator's channel code brings
customers through its QR code, the admin opens the channel report, sees the code's adds beside
the adds no code brought, filters by member, records the code's cost for the month and exports
the table as Excel. Screenshots console-channel-report-*.png in $SCRM_ARTIFACTS_DIR."""
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
NAMES = ["渠道客户<b>甲</b>", "渠道客户乙"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with console_stack(tmp_path_factory, "console-channel-report", SANDBOX_CUSTOMERS="4", SANDBOX_STAFF="3") as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright):  # noqa: F811
    yield from _browser(playwright, "zh-CN")


def test_an_admin_reads_the_channel_report_records_a_cost_and_exports(stack, browser):
    sb = Sandbox(stack)
    create_admin(sb)
    staff = [s for s in sb.world("staff")["staff"] if s["has_contact"] and s["active"]]
    member, member_name = staff[0]["userid"], staff[0]["name"]
    code = sb.post("channels", {"name": "门店<i>活码</i>", "type": 1, "scene": 2, "state": "shop_browser",
                                "userids": [member]})
    added = [sb.act("add_customer", config_id=code["config_id"], name=name)["external_userid"] for name in NAMES]
    added.append(sb.act("add_customer", userid=staff[1]["userid"], name="自然流量客户")["external_userid"])
    wait_for(lambda: all(sb.api(f"customers/{e}") for e in added), "the customers in the service")
    today = datetime.now(SHANGHAI).date()
    sb.flask("scrm", "reports", "rebuild", "--from", today.isoformat(), "--to", today.isoformat())

    page = browser.new_page()
    page.set_viewport_size({"width": 1440, "height": 960})
    errors, outside = watch(page)
    page.goto(f"{sb.service}/console/login?next=/console/reports/channels")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/console/reports/channels")
    cid = code["id"]
    expect(page.locator(f'[data-cell="adds:{cid}"]')).to_have_text(str(len(NAMES)), timeout=20_000)
    expect(page.locator('[data-table="channels"]')).to_contain_text("门店<i>活码</i>")  # text, not markup
    assert int(page.locator('[data-cell="adds:0"]').inner_text()) >= 1  # no channel: the natural add
    page.locator("#channel-chart canvas").wait_for(timeout=20_000)
    shot(page, "console-channel-report")

    # one member: the other member's natural add is gone from the row of no channel
    page.locator('[data-field="userid"]').click()
    page.keyboard.type(member_name)
    page.locator(".el-select-dropdown__item:visible", has_text=member_name).first.click()
    expect(page.locator('[data-cell="adds:0"]')).to_have_text("0")
    expect(page.locator(f'[data-cell="adds:{cid}"]')).to_have_text(str(len(NAMES)))

    # the code's cost this month: 3,000 yuan, spread over the month's days in the range
    page.locator(f'[data-cost="{cid}"]').click()
    dialog = page.locator(".cost-dialog")
    amount = dialog.locator('[data-field="cost-amount"] input')
    amount.fill("3000")
    dialog.locator('[data-action="save-cost"]').click()
    expect(page.locator(f'[data-cell="cost_fen:{cid}"]')).not_to_have_text("—", timeout=20_000)
    costs = sb.api("channel-costs", channel_id=cid, from_month=today.isoformat()[:7], to_month=today.isoformat()[:7])
    assert [(c["month"], c["amount_fen"]) for c in costs] == [(today.isoformat()[:7], 300000)]
    shot(page, "console-channel-report-cost")

    with page.expect_download() as download:
        page.locator('[data-action="export"]').click()
        page.locator('[data-export="xlsx"]:visible').click()
    book = load_workbook(io.BytesIO(open(download.value.path(), "rb").read()))
    rows = [[c.value for c in row] for row in book.active.iter_rows()]
    assert rows[0][:3] == ["渠道", "渠道参数", "新增客户"]
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["门店<i>活码</i>"][2] == len(NAMES) and rows[-1][0] == "合计"
    assert errors == [] and outside == []
