"""The operators' pages in a real browser over the sandbox stack (as test_console_browser.py):
sign in as the administrator; create a welcome template (its live preview renders the
placeholders), a channel code using it (its QR image shown from the simulator through the
console), an invalid form showing the API's field error in place, a customer SOP; a customer added
through the code is enrolled and the SOP's calendar shows the execution; the recall and library
pages. Screenshots console-<page>.png in $SCRM_ARTIFACTS_DIR."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.console_support import PASSWORD, console_stack, create_admin
from tests.browser.test_console_browser import watch
from tests.browser.test_sidebar_browser import _browser, playwright, shot  # noqa: F401  (fixture)
from tests.stack import Sandbox, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with console_stack(tmp_path_factory, "console-operator", SANDBOX_STAFF="3") as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright):  # noqa: F811
    yield from _browser(playwright, "zh-CN")


def pick(page, form_item, option: str) -> None:
    """Choose an option of the el-select inside a form item (its dropdown lives in <body>)."""
    form_item.locator(".el-select").click()
    page.locator(".el-select-dropdown__item:visible", has_text=option).first.click()


def settled(page, name: str) -> None:
    """A screenshot once loading masks and toasts are gone."""
    expect(page.locator(".el-loading-mask:visible")).to_have_count(0)
    expect(page.locator(".el-message:visible")).to_have_count(0, timeout=10_000)
    shot(page, name)


def drawer_item(page, path: str):
    return page.locator(f'.el-drawer .el-form-item[data-path="{path}"]')


def test_an_operator_sets_up_a_channel_with_a_welcome_template_and_an_sop(stack, browser):
    sb = Sandbox(stack)
    create_admin(sb)
    sb.flask("scrm", "sync", "--only", "staff")
    member = [s for s in sb.world("staff")["staff"] if s["has_contact"] and s["active"]][0]

    page = browser.new_page()
    page.set_viewport_size({"width": 1440, "height": 960})
    errors, outside = watch(page)
    page.goto(f"{sb.service}/console/login")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".page-title")).to_have_text("工作台")

    # 欢迎语: the preview renders the placeholders as the service will.
    page.goto(f"{sb.service}/console/welcome")
    page.get_by_role("button", name="新建欢迎语").click()
    drawer_item(page, "name").locator("input").fill("展会欢迎语")
    drawer_item(page, "text").locator("textarea").fill("您好 {nickname}，我是{staff_name}。")
    page.locator(".sample-nickname input").fill("小明")
    pick(page, page.locator(".preview .el-form-item", has_text="员工"), member["name"])
    expect(page.locator(".preview-bubble")).to_have_text(f"您好 小明，我是{member['name']}。")
    shot(page, "console-welcome-editor")
    page.locator(".el-drawer").get_by_role("button", name="保存").click()
    expect(page.locator(".welcome-table .el-table__row", has_text="展会欢迎语")).to_have_count(1)
    settled(page, "console-welcome")

    # 渠道活码: an invalid state shows the API's message on that form item; then a valid code.
    page.goto(f"{sb.service}/console/channels")
    page.get_by_role("button", name="新建渠道活码").click()
    drawer_item(page, "name").locator("input").fill("线下展会")
    pick(page, drawer_item(page, "userids"), member["userid"])
    page.keyboard.press("Escape")
    pick(page, drawer_item(page, "welcome_template_id"), "展会欢迎语")
    drawer_item(page, "state").locator("input").fill("bad state!")
    page.locator(".el-drawer").get_by_role("button", name="保存").click()
    expect(drawer_item(page, "state").locator(".el-form-item__error")).to_contain_text("Letters, digits")
    expect(drawer_item(page, "name").locator(".el-form-item__error")).to_have_count(0)
    shot(page, "console-channels-field-error")
    drawer_item(page, "state").locator("input").fill("console_op")
    page.locator(".el-drawer").get_by_role("button", name="保存").click()
    row = page.locator(".channel-table .el-table__row", has_text="线下展会")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("展会欢迎语")
    row.get_by_role("button", name="二维码").click()
    image = page.locator(".qr-image")
    expect(image).to_be_visible()
    wait_for(lambda: image.evaluate("img => img.complete && img.naturalWidth > 0"), "the QR image loaded")
    shot(page, "console-channels-qr")
    page.get_by_role("button", name="关闭", exact=True).click()

    # 客户SOP: a plan for every new customer, a step two hours after the add.
    page.goto(f"{sb.service}/console/sops")
    page.get_by_role("button", name="新建客户SOP").click()
    drawer_item(page, "name").locator("input").fill("新客两小时跟进")
    drawer_item(page, "steps.0.text").locator("textarea").fill("{nickname} 您好，有任何问题随时联系我。")
    page.locator(".el-drawer").get_by_role("button", name="保存").click()
    sop_row = page.locator(".sop-table .el-table__row", has_text="新客两小时跟进")
    expect(sop_row).to_have_count(1)

    # A customer added through the code: attributed to it, enrolled in the SOP.
    customer = sb.act("add_customer", userid=member["userid"], state="console_op", name="展会客户")["external_userid"]
    wait_for(lambda: sb.api(f"customers/{customer}/sops"), "the customer enrolled in the SOP")
    page.reload()
    sop_row = page.locator(".sop-table .el-table__row", has_text="新客两小时跟进")
    expect(sop_row).to_contain_text("1")
    settled(page, "console-sops")
    sop_row.get_by_role("button", name="日历与结果").click()
    expect(page.locator(".sop-calendar .cal-count").first).to_have_text("1 项")
    page.locator(".sop-calendar .cal-count").first.click()
    expect(page.locator(".day-tasks .el-table__row")).to_have_count(1)
    expect(page.locator(".day-tasks .el-table__row")).to_contain_text(customer)
    shot(page, "console-sops-calendar")
    page.get_by_role("tab", name="执行结果").click()
    expect(page.locator('[data-result="customers"] .el-statistic__number')).to_have_text("1")
    page.locator(".result-chart canvas").wait_for()
    shot(page, "console-sops-results")

    page.goto(f"{sb.service}/console/channels")
    expect(page.locator(".channel-table .el-table__row", has_text="线下展会").locator(".adds")).to_have_text("1")
    settled(page, "console-channels")

    # 流失与召回: a playbook; its recall rate chart; the alerts tab.
    page.goto(f"{sb.service}/console/churn")
    page.get_by_role("button", name="新建召回方案").click()
    drawer_item(page, "name").locator("input").fill("沉睡客户唤醒")
    drawer_item(page, "text").locator("textarea").fill("{nickname}，好久不见！")
    page.locator(".el-drawer").get_by_role("button", name="保存").click()
    expect(page.locator(".playbook-table .el-table__row", has_text="沉睡客户唤醒")).to_have_count(1)
    page.locator("#recall-chart canvas").wait_for()
    settled(page, "console-churn")
    page.get_by_role("tab", name="流失统计").click()
    page.locator("#churn-month-chart canvas").wait_for()
    settled(page, "console-churn-overview")
    page.get_by_role("tab", name="流失预警").click()
    expect(page.locator(".alert-table")).to_be_visible()
    settled(page, "console-churn-alerts")

    # 内容库: a script.
    page.goto(f"{sb.service}/console/library")
    page.get_by_role("button", name="新建内容").click()
    drawer_item(page, "title").locator("input").fill("开场白")
    drawer_item(page, "body.content").locator("textarea").fill("您好 {nickname}，我是{staff_name}。")
    page.locator(".el-drawer").get_by_role("button", name="保存").click()
    script = page.locator(".library-table .el-table__row", has_text="开场白")
    expect(script).to_have_count(1)
    expect(script.locator(".el-tag")).to_have_text("话术")
    settled(page, "console-library")

    # Edit in the drawer, then delete after confirming.
    script.get_by_role("button", name="编辑").click()
    drawer_item(page, "title").locator("input").fill("开场白（新）")
    page.locator(".el-drawer").get_by_role("button", name="保存").click()
    script = page.locator(".library-table .el-table__row", has_text="开场白（新）")
    expect(script).to_have_count(1)
    script.get_by_role("button", name="删除").click()
    page.locator(".el-message-box").get_by_role("button", name="删除").click()
    expect(page.locator(".library-table .el-table__row", has_text="开场白")).to_have_count(0)

    # A tablet: the drawer takes the screen, the preview goes under the form.
    page.set_viewport_size({"width": 820, "height": 1180})
    page.goto(f"{sb.service}/console/welcome")
    page.locator(".welcome-table .el-table__row", has_text="展会欢迎语").get_by_role("button", name="编辑").click()
    expect(page.locator(".preview-bubble")).to_contain_text("您好")
    assert page.locator(".el-drawer").bounding_box()["width"] >= 815
    form, preview = page.locator(".welcome-form").bounding_box(), page.locator(".preview").bounding_box()
    assert preview["y"] >= form["y"] + form["height"] - 1
    settled(page, "console-welcome-tablet")

    assert [e for e in errors if "422" not in e] == []  # the refused form answers 422, which Chromium logs
    assert outside == []
    page.close()
