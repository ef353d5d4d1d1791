"""成员角色 in a real browser over the sandbox stack (as test_console_browser.py): the administrator
opens the page, sees every member with the default from WeCom marked 「默认」, gives a member the
role 运营 in the drawer, and the table and the Open API show it; the member then signs in and
sees the operator's menu. Screenshots console-roles-*.png in $SCRM_ARTIFACTS_DIR."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.console_support import PASSWORD, console_stack, create_admin
from tests.browser.test_console_browser import watch
from tests.browser.test_sidebar_browser import _browser, playwright, shot  # noqa: F401  (fixture)
from tests.stack import Sandbox

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with console_stack(tmp_path_factory, "console-roles") as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright):  # noqa: F811
    yield from _browser(playwright, "zh-CN")


def test_the_administrator_gives_a_member_a_role(stack, browser):
    sb = Sandbox(stack)
    create_admin(sb)
    sb.flask("scrm", "sync", "--only", "staff")
    members = sb.api("staff-roles/members")
    member = next(m for m in members if m["is_default"] and m["role"] == "sales")

    page = browser.new_page()
    page.set_viewport_size({"width": 1366, "height": 900})
    errors, outside = watch(page)
    page.goto(f"{sb.service}/console/login")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.locator(".el-menu .el-menu-item", has_text="成员角色").click()
    page.wait_for_url("**/console/roles")
    rows = page.locator(".roles-table .el-table__body-wrapper tr.el-table__row")
    expect(rows).to_have_count(len(members))
    expect(page.locator(".roles-table .default-tag").first).to_have_text("默认")
    shot(page, "console-roles-01-table")

    page.locator(f'.edit-role[data-userid="{member["userid"]}"]').click()
    drawer = page.locator(".el-drawer")
    expect(drawer).to_be_visible()
    drawer.locator(".role-select").click()
    page.locator(".el-select-dropdown__item:visible", has_text="运营").click()
    expect(drawer.locator(".scope-radios .el-radio.is-checked")).to_have_text("全公司")  # the role's default
    shot(page, "console-roles-02-drawer")
    drawer.locator(".save-role").click()
    expect(drawer).to_be_hidden()
    row = rows.filter(has=page.locator(f'.edit-role[data-userid="{member["userid"]}"]'))
    expect(row.locator(".role-label")).to_have_text("运营")
    expect(row.locator(".default-tag")).to_have_count(0)
    shot(page, "console-roles-03-saved")
    saved = {m["userid"]: m for m in sb.api("staff-roles/members")}[member["userid"]]
    assert (saved["role"], saved["data_scope"], saved["is_default"]) == ("operator", "corp", False)
    assert errors == [] and outside == []
    page.close()
