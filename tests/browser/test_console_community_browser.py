"""The 群SOP, 社群运营 and 设置 pages in a real browser over the sandbox stack (as
tests/browser/test_console_browser.py): sign in as the administrator, create a group code (its QR
code from our origin) and a group SOP, see the SOP's execution calendar, an invalid form showing
the API's field error in place, sync the corp tags from WeCom (the simulator); a screenshot of
every page and tab in $SCRM_ARTIFACTS_DIR (console-<page>.png)."""
from __future__ import annotations

import subprocess

import pytest
from playwright.sync_api import expect

from tests.browser.console_support import PASSWORD, console_stack, create_admin
from tests.browser.test_console_browser import watch
from tests.browser.test_sidebar_browser import _browser, playwright, shot  # noqa: F401  (fixture)
from tests.stack import Sandbox, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with console_stack(tmp_path_factory, "console-community", SANDBOX_STAFF="3", SANDBOX_GROUPS="3") as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright):  # noqa: F811
    yield from _browser(playwright, "zh-CN")


@pytest.fixture(scope="module")
def signed_in(stack, browser):
    sb = Sandbox(stack)
    create_admin(sb)
    try:
        sb.flask("scrm", "sync", "--only", "staff,groups")
    except subprocess.CalledProcessError:
        pass  # the stack's own first sync is running: it brings the groups too
    wait_for(lambda: sb.api("groups", status="active"), "the simulator's groups in the service")
    page = browser.new_page()
    page.set_viewport_size({"width": 1366, "height": 900})
    errors, outside = watch(page)
    page.goto(f"{sb.service}/console/login")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".page-title")).to_have_text("工作台", timeout=30_000)
    expect.set_options(timeout=15_000)  # a busy machine: Vue compiles each page's templates in the browser
    yield sb, page, errors, outside
    expect.set_options(timeout=5_000)  # Playwright's default again, for the other modules
    page.close()


def snap(page, name: str) -> None:
    """A screenshot once the page's tables have loaded."""
    expect(page.locator(".el-loading-mask:visible")).to_have_count(0)
    shot(page, name)


def drawer(page):
    return page.locator(".el-drawer").filter(has=page.locator(".el-drawer__body:visible"))


def test_group_codes_and_group_welcome_templates(signed_in):
    sb, page, errors, outside = signed_in
    page.locator(".el-menu .el-menu-item", has_text="社群运营").click()
    page.wait_for_url("**/console/community")
    expect(page.locator(".el-tabs__item.is-active")).to_have_text("群活码")

    # An invalid form: the API's 422 shown on the form item (auto-create on, no room name).
    page.locator('[data-action="create-code"]').click()
    form = drawer(page)
    form.locator('[data-field="name"]').fill("展会群活码")
    group = sb.api("groups", status="active")[0]
    form.locator('[data-field="chat_ids"]').click()
    page.locator(".el-select-dropdown__item:visible", has_text=group["name"]).first.click()
    form.locator(".el-drawer__header").click()
    form.locator('[data-action="save-code"]').click()
    item = form.locator(".el-form-item.is-error", has_text="新群名称")
    expect(item.locator(".el-form-item__error")).to_contain_text("开启群满自动建群时必填")
    expect(form.locator("[data-form-error]")).to_be_visible()
    snap(page, "console-community-code-invalid")

    form.locator('[data-field="room_base_name"]').fill("展会群")
    form.locator('[data-action="save-code"]').click()
    qr = page.locator("[data-qr-large]")
    expect(qr).to_be_visible()
    page.wait_for_function("document.querySelector('[data-qr-large]').naturalWidth > 0")
    snap(page, "console-community-qr")
    page.keyboard.press("Escape")
    expect(qr).to_be_hidden()
    expect(page.locator('[data-table="codes"] .el-table__row')).to_have_count(1)
    expect(page.locator('[data-table="codes"] .el-table__row')).to_contain_text("展会群活码")
    assert len(sb.world("join-ways")["join_ways"]) == 1
    snap(page, "console-community")

    page.locator(".el-tabs__item", has_text="入群欢迎语").click()
    page.locator('[data-action="create-welcome"]').click()
    form = drawer(page)
    form.locator('[data-action="save-welcome"]').click()  # no name: refused in place
    expect(form.locator(".el-form-item.is-error")).to_have_count(1)
    expect(form.locator(".el-form-item.is-error")).to_contain_text("名称")
    form.locator('[data-field="welcome-name"]').fill("欢迎新朋友")
    form.locator('[data-action="save-welcome"]').click()  # then: no text and no attachment
    expect(form.locator(".el-form-item.is-error")).to_have_count(1)
    expect(form.locator(".el-form-item.is-error")).to_contain_text("需要文本或附件")
    snap(page, "console-community-welcome")
    # one attachment at most (WeCom's template holds one): a link, then no 「添加附件」 any more
    form.get_by_role("button", name="添加附件").click()
    page.locator(".el-dropdown-menu__item:visible", has_text="链接").click()
    link = form.locator('.attachment[data-kind="link"]')
    link.locator('[data-path="attachment.0.title"] input').fill("入群须知")
    link.locator('[data-path="attachment.0.url"] input').fill("https://example.com/rules")
    expect(form.get_by_role("button", name="添加附件")).to_have_count(0)
    form.locator('[data-action="save-welcome"]').click()
    expect(page.locator(".el-table__row", has_text="欢迎新朋友")).to_contain_text("链接")
    saved = [t for t in sb.api("group-welcome-templates") if t["name"] == "欢迎新朋友"]
    assert [(t["attachment"]["msgtype"], t["attachment"]["url"]) for t in saved] == [
        ("link", "https://example.com/rules")]
    assert errors == [] or all("422" in e for e in errors)
    assert outside == []
    errors.clear()


def test_a_group_sop_and_its_calendar(signed_in):
    sb, page, errors, outside = signed_in
    page.locator(".el-menu .el-menu-item", has_text="群SOP").click()
    page.wait_for_url("**/console/group-sops")
    page.locator('[data-action="create"]').click()
    form = drawer(page)
    form.locator('[data-field="name"]').fill("每日早安")
    group = sb.api("groups", status="active")[0]
    form.locator('[data-field="targets.owners"]').click()
    page.keyboard.type(group["owner"])
    page.keyboard.press("Enter")
    form.locator(".el-drawer__header").click()
    form.locator('[data-field="steps.0.text"]').fill("")
    form.locator('[data-action="save"]').click()  # a step without text or attachments: refused in place
    step = form.locator(".el-form-item.is-error", has_text="文本")
    expect(step.locator(".el-form-item__error")).to_contain_text("步骤需要文本或附件")
    snap(page, "console-group-sops-invalid")

    form.locator('[data-field="steps.0.text"]').fill("{group_name} 的各位早上好")
    # a link attachment, edited in the console: a bad address is refused in place, then fixed
    form.get_by_role("button", name="添加附件").click()
    page.locator(".el-dropdown-menu__item:visible", has_text="链接").click()
    link = form.locator('.attachment[data-kind="link"]')
    link.locator('[data-path="steps.0.attachments.0.title"] input').fill("本周活动")
    link.locator('[data-path="steps.0.attachments.0.url"] input').fill("not-a-url")
    form.locator('[data-action="save"]').click()
    expect(link.locator('[data-path="steps.0.attachments.0.url"] .el-form-item__error')).to_be_visible()
    link.locator('[data-path="steps.0.attachments.0.url"] input').fill("https://example.com/week")
    form.locator('[data-action="save"]').click()
    rows = page.locator(".el-table__row", has_text="每日早安")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("执行中")
    snap(page, "console-group-sops")
    plan = next(p for p in sb.api("group-sops") if p["name"] == "每日早安")
    [attachment] = plan["steps"][0]["attachments"]
    assert (attachment["msgtype"], attachment["title"], attachment["url"]) == (
        "link", "本周活动", "https://example.com/week")

    rows.locator("button", has_text="执行日历").click()
    calendar = page.locator(".cc-calendar")
    expect(calendar.locator(".el-calendar")).to_be_visible()
    expect(calendar.locator(".cc-day-count .el-tag").first).to_be_visible(timeout=20_000)
    expect(calendar.locator('[data-table="executions"] .el-table__row').first).to_contain_text(group["name"])
    snap(page, "console-group-sops-calendar")
    page.keyboard.press("Escape")

    rows.locator("button", has_text="暂停").click()
    page.locator(".el-message-box").get_by_role("button", name="确定").click()
    expect(rows).to_contain_text("已暂停")
    assert errors == [] or all("422" in e for e in errors)
    assert outside == []
    errors.clear()


def test_settings_tabs_and_syncing_corp_tags(signed_in):
    sb, page, errors, outside = signed_in
    sb.act("create_corp_tag", group_name="浏览器同步", tag_name="同步来的标签")
    page.locator(".el-menu .el-menu-item", has_text="设置").click()
    page.wait_for_url("**/console/settings")
    page.locator('[data-action="sync-tags"]').click()
    expect(page.locator('[data-table="tags"]')).to_contain_text("同步来的标签", timeout=20_000)
    expect(page.locator(".el-message--success")).to_contain_text("已从企业微信同步")
    snap(page, "console-settings")

    # A tag group created here goes to WeCom (the simulator) first.
    page.locator('[data-action="create-tag-group"]').click()
    form = drawer(page)
    form.locator('[data-field="group_name"]').fill("控制台标签组")
    form.locator('[data-field="tags.0.name"]').fill("重点客户")
    form.locator('[data-action="save-tags"]').click()
    expect(page.locator('[data-table="tags"]')).to_contain_text("重点客户")
    library = sb.world("tags")
    assert "重点客户" in str(library)

    for name, title in (("labels", "客户群标签"), ("stages", "销售阶段"), ("fields", "自定义字段")):
        page.locator(".el-tabs__item", has_text=title).click()
        expect(page.locator(".el-tabs__item.is-active")).to_have_text(title)
        page.wait_for_load_state("networkidle")
        snap(page, f"console-settings-{name}")
    page.locator(".el-tabs__item", has_text="客户群标签").click()
    page.locator('[data-action="create-label"]').click()
    drawer(page).locator(".el-drawer__footer").get_by_role("button", name="保存").click()
    expect(drawer(page).locator(".el-form-item.is-error")).to_have_count(1)
    page.keyboard.press("Escape")
    assert errors == [] or all("422" in e for e in errors)
    assert outside == []
