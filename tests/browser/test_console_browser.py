"""The console in a real browser over the sandbox stack (as tests/browser/test_sidebar_browser.py:
`python -m sandbox.devstack`, Debian's /usr/bin/chromium driven by Playwright, nothing downloaded):
sign in as the local administrator, see the menu and the 工作台 with its figures and its ECharts
canvas, the 报表 page, the tablet layout, sign out; then sign in through the simulator's
WeCom web login page as a member. Run with `make browser`; screenshots in $SCRM_ARTIFACTS_DIR."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from console.menu import SECTIONS as MENU
from tests.browser.console_support import PASSWORD, console_stack, create_admin
from tests.browser.test_sidebar_browser import _browser, playwright, shot  # noqa: F401  (fixture)
from tests.stack import Sandbox, wait_for

pytestmark = pytest.mark.browser
SECTIONS = [section.title for section in MENU]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with console_stack(tmp_path_factory, "console-browser",
                       SANDBOX_CUSTOMERS="30", SANDBOX_STAFF="3", SANDBOX_GROUPS="2") as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright):  # noqa: F811
    yield from _browser(playwright, "zh-CN")


def watch(page) -> tuple[list, list]:
    """Page errors and console errors; and every request for another host, aborted."""
    errors, outside = [], []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and "favicon" not in msg.text
            else None)

    def local_only(route):
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", local_only)
    return errors, outside


def test_sign_in_as_the_administrator_and_see_the_dashboard(stack, browser):
    sb = Sandbox(stack)
    create_admin(sb)
    staff = [s for s in sb.world("staff")["staff"] if s["has_contact"] and s["active"]][0]["userid"]
    customer = sb.act("add_customer", userid=staff, state="console_browser", name="控制台客户")["external_userid"]
    wait_for(lambda: sb.api(f"customers/{customer}"), "the new customer in the service")

    page = browser.new_page()
    page.set_viewport_size({"width": 1366, "height": 900})
    errors, outside = watch(page)
    page.goto(f"{sb.service}/console/")
    assert urlsplit(page.url).path == "/console/login"
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill("not the password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_have_text("用户名或密码错误")
    shot(page, "console-01-login-failed")
    assert [e for e in errors if "401" not in e] == []  # the refused sign-in answers 401, which Chromium logs
    errors.clear()
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()

    menu = page.locator(".el-menu .el-menu-item")
    expect(menu).to_have_text(SECTIONS)
    expect(page.locator(".user-name")).to_have_text("admin")
    expect(page.locator(".page-title")).to_have_text("工作台")
    canvas = page.locator("#adds-chart canvas")
    canvas.wait_for(timeout=20_000)
    assert canvas.bounding_box()["width"] > 300 and canvas.bounding_box()["height"] > 200
    expect(page.locator(".figure")).to_have_count(4)
    expect(page.locator(".figure .el-statistic__head")).to_have_text(["客户数", "好友关系", "客户群", "待执行SOP任务"])
    customers = int(page.locator('[data-figure="customers"] .el-statistic__number').text_content().replace(",", ""))
    assert customers >= 1
    shot(page, "console-02-dashboard")

    # 报表: the follow-up report, the menu item active (tests/browser/test_console_reports_browser.py walks it).
    page.locator(".el-menu .el-menu-item", has_text="报表").click()
    page.wait_for_url("**/console/reports")
    expect(page.locator(".report-title")).to_have_text("跟进报表")
    expect(page.locator(".el-menu-item.is-active")).to_have_text("报表")
    expect(page.locator(".figure-card")).to_have_count(8)
    shot(page, "console-03-reports")

    # A tablet: the menu collapses to its icons and the header still fits.
    page.set_viewport_size({"width": 820, "height": 1180})
    page.reload()
    expect(page.locator(".el-menu.el-menu--collapse")).to_have_count(1)
    assert page.locator(".aside").bounding_box()["width"] <= 70
    header = page.locator(".header").bounding_box()
    logout = page.get_by_role("button", name="退出登录").bounding_box()
    assert logout["x"] + logout["width"] <= header["x"] + header["width"] + 1
    shot(page, "console-04-tablet")

    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url("**/console/login")
    page.goto(f"{sb.service}/console/")
    assert urlsplit(page.url).path == "/console/login"
    assert errors == [] and outside == []
    page.close()


def test_sign_in_as_a_member_through_the_simulated_wecom_login(stack, browser):
    sb = Sandbox(stack)
    sb.flask("scrm", "sync", "--only", "staff")
    member = [s for s in sb.world("staff")["staff"] if s["active"]][-1]
    page = browser.new_page()
    errors, outside = watch(page)
    page.goto(f"{sb.service}/console/")
    page.get_by_role("link", name="使用企业微信登录").click()
    page.wait_for_url(f"{sb.simulator}/wwlogin/sso/login**")
    shot(page, "console-05-simulated-wecom-login")
    page.locator(f'a.member[data-userid="{member["userid"]}"]').click()
    expect(page.locator(".user-name")).to_have_text(member["name"])
    # the header names the member's role (sales by default; a department leader is a manager)
    expect(page.locator(".el-tag", has_text=re.compile("^(销售|主管|运营|管理员)$"))).to_have_count(1)
    page.locator("#adds-chart canvas").wait_for(timeout=20_000)
    expect(page.locator(".scope")).to_have_text("我负责的客户与客户群")
    assert errors == [] and outside == []
    page.close()
