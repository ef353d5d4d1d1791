"""任务中心 in a real browser over the sandbox stack (as tests/browser/test_console_browser.py): a bulk
在职转接 of four customers, two of them of a member who has just left (failed: 离职继承 handles
those), is started through the Open API; signed in as the administrator, the page lists it with
its progress bar, and its drawer shows the figures and the failed customers with the reason.
Run with `make browser`; the screenshot console-jobs.png in $SCRM_ARTIFACTS_DIR."""
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
    with console_stack(tmp_path_factory, "console-jobs") as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright):  # noqa: F811
    yield from _browser(playwright, "zh-CN")


def test_a_bulk_jobs_progress_and_failed_items(stack, browser):
    sb = Sandbox(stack)
    create_admin(sb)
    members = [s for s in sb.world("staff")["staff"] if s["has_contact"] and s["active"]]
    (leaver, owner, takeover), takeover_name = [m["userid"] for m in members[:3]], members[2]["name"]
    customers = []
    for userid, name in ((leaver, "离职成员客户甲"), (leaver, "离职成员客户乙"), (owner, "转接客户丙"),
                         (owner, "<b>转接客户丁</b>")):
        ext = sb.act("add_customer", userid=userid, state="jobs_browser", name=name)["external_userid"]
        wait_for(lambda ext=ext: sb.api(f"customers/{ext}"), "the new customer in the service")
        customers.append(ext)
    sb.act("staff_leaves", userid=leaver)
    wait_for(lambda: any(b["handover_userid"] == leaver for b in sb.api("handovers") or []),
             "the member's departure in the service")
    job = sb.post("bulk-jobs", {"kind": "reassign", "audience": {"external_userids": customers},
                                "takeover_userid": takeover})
    wait_for(lambda: (sb.api(f"bulk-jobs/{job['id']}") or {}).get("failed") == 2, "the job's failed items")

    page = browser.new_page()
    page.set_viewport_size({"width": 1366, "height": 900})
    errors, outside = watch(page)
    page.goto(f"{sb.service}/console/jobs")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/console/jobs")
    expect(page.locator(".page-title")).to_have_text("任务中心")
    expect(page.locator(".el-menu-item.is-active")).to_have_text("任务中心")
    row = page.locator(".jobs-table .el-table__row").first
    expect(row.locator(".job-title")).to_have_text(f"批量在职转接 #{job['id']}")
    expect(row.locator(f'.job-progress[data-job="{job["id"]}"]')).to_have_count(1)
    expect(row.locator(".job-figures")).to_contain_text("共 4，")
    expect(row.locator(".job-figures")).to_contain_text("失败 2")
    expect(row.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "50")  # 2 of 4 settled

    row.click()
    drawer = page.locator(".job-detail")
    expect(drawer.locator('[data-figure="failed"] .el-statistic__number')).to_have_text("2")
    expect(drawer.locator('[data-figure="total"] .el-statistic__number')).to_have_text("4")
    items = drawer.locator(".job-items .el-table__row")
    expect(items).to_have_count(2)
    expect(drawer.locator(".item-reason")).to_have_text(["原跟进成员已离职：请用离职继承"] * 2)
    expect(drawer.locator(".job-items")).to_contain_text("离职成员客户甲")
    page.wait_for_timeout(400)  # the drawer's opening animation, for the screenshot only
    shot(page, "console-jobs")

    drawer.locator(".item-filter").get_by_text("全部").click()
    expect(items).to_have_count(4)
    expect(drawer.locator(".job-items")).to_contain_text("<b>转接客户丁</b>")  # text, never markup
    drawer.get_by_role("button", name="Close").or_(drawer.locator(".el-drawer__close-btn")).first.click()

    # 新建批量操作: ScrmBulk.openDialog; the API's 422 shows on the field, then the job is created.
    page.get_by_role("button", name="新建批量操作").click()
    dialog = page.locator(".bulk-dialog")
    dialog.locator('textarea[name="customers"]').fill("\n".join(customers[2:]))
    dialog.locator(".bulk-kind").get_by_text("在职转接").click()
    dialog.get_by_role("button", name="开始执行").click()
    expect(dialog.locator(".el-form-item__error")).to_have_text(["必填"])
    dialog.locator(".bulk-takeover").click()
    page.locator(".el-select-dropdown__item:visible", has_text=takeover_name).first.click()
    dialog.get_by_role("button", name="开始执行").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".job-detail .el-drawer__title")).to_have_text(f"批量在职转接 #{job['id'] + 1}")
    expect(page.locator(".jobs-table .el-table__row")).to_have_count(2)
    shot(page, "console-jobs-created")
    assert [e for e in errors if "422" not in e] == [] and outside == []  # the refused form answers 422
    page.close()
