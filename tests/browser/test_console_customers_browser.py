"""The console's customer and group pages in a real browser over the sandbox stack (as
tests/browser/test_console_browser.py): sign in as the administrator, filter customers by a corp
tag, save the filter as a segment, open a customer's page, open a group's page with its chart.
Screenshots console-customers-*.png in $SCRM_ARTIFACTS_DIR."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.console_support import PASSWORD, console_stack, create_admin
from tests.browser.test_console_browser import watch
from tests.browser.test_sidebar_browser import _browser, playwright, shot  # noqa: F401  (fixture)
from tests.stack import Sandbox, wait_for

pytestmark = pytest.mark.browser
TAG = "浏览器高意向"
NAME = "标签客户{{1+1}}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with console_stack(tmp_path_factory, "console-customers",
                       SANDBOX_CUSTOMERS="20", SANDBOX_STAFF="3", SANDBOX_GROUPS="2") as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright):  # noqa: F811
    yield from _browser(playwright, "zh-CN")


def test_filter_by_tag_save_a_segment_open_a_customer_and_a_group(stack, browser):
    sb = Sandbox(stack)
    create_admin(sb)
    staff = [s for s in sb.world("staff")["staff"] if s["has_contact"] and s["active"]][0]["userid"]
    tag_id = sb.act("create_corp_tag", group_name="浏览器测试", tag_name=TAG)["tag_id"]
    tagged = sb.act("add_customer", userid=staff, state="customers_browser", name=NAME)["external_userid"]
    untagged = sb.act("add_customer", userid=staff, state="customers_browser", name="无标签客户")["external_userid"]
    wait_for(lambda: sb.api(f"customers/{untagged}"), "the customers in the service")
    sb.act("edit_customer", userid=staff, external_userid=tagged, add_tags=[tag_id])
    wait_for(lambda: any(t["tag_id"] == tag_id for r in (sb.api(f"customers/{tagged}") or {}).get("relations", [])
                         for t in r["tags"]), "the tag on the customer in the service")
    group = sb.world("groups", staff=staff)["groups"][0]["chat_id"]
    sb.act("join_group", chat_id=group, member_ids=[tagged], invitor=staff)
    wait_for(lambda: any(m["member_id"] == tagged for m in (sb.api(f"groups/{group}") or {}).get("members", [])),
             "the customer in the group")

    page = browser.new_page()
    page.set_viewport_size({"width": 1440, "height": 960})
    errors, outside = watch(page)
    page.goto(f"{sb.service}/console/login?next=/console/customers")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/console/customers")
    expect(page.locator(".el-menu-item.is-active")).to_have_text("客户")
    table = page.locator("#customer-table")
    expect(table.locator(".customer-link", has_text="无标签客户")).to_have_count(1, timeout=20_000)
    shot(page, "console-customers-01-list")

    # Filter by the tag: only the tagged customer, its name as literal text.
    page.locator(".el-form-item", has_text="标签").locator(".el-select").first.click()
    page.locator(".el-select-dropdown__item:visible", has_text=TAG).click()
    page.keyboard.press("Escape")
    page.locator("#search-button").click()
    expect(table.locator(".customer-link")).to_have_text([NAME], timeout=20_000)
    expect(table.locator(".cell-tags .el-tag")).to_have_text([TAG])
    expect(page.locator("#total-note")).to_have_text("共 1 条")
    shot(page, "console-customers-02-filtered-by-tag")

    # Save the filter as a segment: its live count appears.
    page.locator("#save-segment").click()
    page.locator("#segment-name").fill("浏览器分群")
    page.locator("#segment-confirm").click()
    expect(page.locator("#segment-count")).to_have_text("分群「浏览器分群」当前 1 条好友关系", timeout=20_000)
    shot(page, "console-customers-03-segment-saved")
    segments = sb.api("segments")
    assert [(s["name"], s["filters"]["tag_id"]) for s in segments] == [("浏览器分群", [tag_id])]

    # The customer's page: profile, the relation with its tag, the group, the timeline.
    table.locator(".customer-link", has_text=NAME).click()
    page.wait_for_url(f"**/console/customers/{tagged}")
    expect(page.locator("#customer-profile h2")).to_have_text(NAME, timeout=20_000)
    expect(page.locator("#relations-table .cell-tags .el-tag")).to_have_text([TAG])
    expect(page.locator("#customer-timeline .el-timeline-item").first).to_be_visible()
    shot(page, "console-customers-04-customer-page")

    # The group list and a group's page with its members and chart.
    page.get_by_role("menuitem", name="客户群", exact=True).click()
    page.wait_for_url("**/console/groups")
    link = page.locator("#group-table .group-link").first
    expect(link).to_be_visible(timeout=20_000)
    shot(page, "console-customers-05-groups")
    page.goto(f"{sb.service}/console/groups/{group}")
    expect(page.locator("#member-table .el-table__row").filter(has_text=NAME)).to_have_count(1, timeout=20_000)
    canvas = page.locator("#group-chart canvas")
    canvas.wait_for(timeout=20_000)
    assert canvas.bounding_box()["width"] > 300
    shot(page, "console-customers-06-group-page")
    assert errors == [] and outside == []
    page.close()


def test_send_the_segment_a_mass_message_confirm_it_in_the_simulator_and_see_the_results(stack, browser):
    """Issue #14's walk, its second half: the segment saved above gets a mass message from the
    customer list; the member confirms it in the simulator; the results show per customer."""
    sb = Sandbox(stack)
    page = browser.new_page()
    page.set_viewport_size({"width": 1440, "height": 960})
    errors, outside = watch(page)
    page.goto(f"{sb.service}/console/customers")
    if "/console/login" in page.url:  # the browser's session from the test above may have ended
        page.get_by_label("用户名").fill("admin")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url("**/console/customers")
    page.locator("#segment-select").click()
    page.locator(".el-select-dropdown__item:visible", has_text="浏览器分群").click()
    expect(page.locator("#segment-count")).to_have_text("分群「浏览器分群」当前 1 条好友关系", timeout=20_000)

    page.locator("#mass-message").click()
    drawer = page.locator(".mass-form")
    expect(drawer.locator(".audience-note")).to_contain_text("分群「浏览器分群」")
    drawer.locator("button", has_text="创建群发任务").click()
    expect(drawer.locator(".el-form-item__error")).to_have_text(["长度须在 1–64 之间"])  # the API's 422, in place
    assert [e for e in errors if "422" not in e] == []  # Chromium logs the refused request
    errors.clear()
    drawer.locator('input[name="name"]').fill("双十二活动")
    drawer.locator('textarea[name="text"]').fill("您好，我是{staff_name}，双十二活动今晚开始")
    drawer.locator("button", has_text="创建群发任务").click()
    page.wait_for_url("**/console/mass-messages")

    def awaiting():
        rows = sb.api("mass-messages") or []
        return rows and rows[0]["tasks_by_status"].get("awaiting") == 1 and rows[0]
    message = wait_for(awaiting, "the mass-send task created in WeCom")
    task = sb.api(f"mass-messages/{message['id']}")["tasks"][0]
    resp = requests.post(f"{sb.simulator}/sandbox/api/mass-sends/{task['msgid']}/confirm",
                         json={"userid": task["sender"]}, timeout=10)
    assert resp.status_code == 200, resp.text
    later = (datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=11)).isoformat()
    wait_for(lambda: (sb.flask("scrm", "tick", "--now", later),
                      (sb.api(f"mass-messages/{message['id']}") or {}).get("recipients_by_status", {}).get("sent"))[1],
             "the member's send read back")

    page.reload()
    page.locator(".mass-table .el-table__row", has_text="双十二活动").click()
    detail = page.locator(".mass-detail")
    expect(detail.locator('[data-figure="sent"] .el-statistic__number')).to_have_text("1", timeout=20_000)
    expect(detail.locator(".recipients .el-table__row")).to_have_text([re.compile(re.escape(NAME) + ".*已送达")])
    detail.locator(".chart canvas").wait_for(timeout=20_000)
    shot(page, "console-mass-messages")
    assert errors == [] and outside == []
    page.close()
