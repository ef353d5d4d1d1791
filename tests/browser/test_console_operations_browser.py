"""The 运维 page in a real browser over the sandbox stack (as tests/browser/test_console_browser.py):
sign in as the local administrator, open each tab — 运行状态, 失败任务, 回调记录, 同步记录,
接口错误率 (its ECharts canvas), 审计日志 — retry a failed job (confirmed in a dialog) and see
the stack's worker run it, start a sync with 「立即同步」, filter the inbox and the audit log.
Screenshots console-operations-*.png in $SCRM_ARTIFACTS_DIR."""
from __future__ import annotations

import pytest
import redis
import requests
from playwright.sync_api import expect
from rq import Queue
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from tests.api.ops_jobs import DONE
from tests.browser.console_support import PASSWORD, create_admin
from tests.browser.test_console_browser import watch
from tests.browser.test_sidebar_browser import _browser, playwright, shot  # noqa: F401  (fixture)
from tests.stack import Sandbox, sandbox_stack, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with sandbox_stack(tmp_path_factory.mktemp("console-ops-browser"), "console-ops-browser",
                       SANDBOX_CUSTOMERS="10", SANDBOX_STAFF="3", SANDBOX_GROUPS="1", SANDBOX_LATENCY_MS="0-20",
                       SCRM_WEB_WORKERS="2", SCRM_WELCOME_WORKERS="1") as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright):  # noqa: F811
    yield from _browser(playwright, "zh-CN")


def failed_job(sb: Sandbox, connection: redis.Redis) -> str:
    """A job the stack's worker runs and that fails the first time: in the failed registry."""
    queue = Queue("periodic", connection=connection, serializer=JSONSerializer)
    job = queue.enqueue("tests.api.ops_jobs.fail_once", "browser", failure_ttl=3600, result_ttl=0)
    wait_for(lambda: job.id in FailedJobRegistry(queue=queue).get_job_ids(), "the job to fail in the worker")
    return job.id


def test_the_operations_page_tab_by_tab(stack, browser):
    sb = Sandbox(stack)
    connection = redis.Redis.from_url(sb.flask_env["REDIS_URL"])
    create_admin(sb)
    staff = [s for s in sb.world("staff")["staff"] if s["has_contact"] and s["active"]][0]["userid"]
    customer = sb.act("add_customer", userid=staff, state="ops_browser", name="运维客户")["external_userid"]
    wait_for(lambda: sb.api(f"customers/{customer}"), "the new customer in the service")
    job_id = failed_job(sb, connection)

    page = browser.new_page()
    page.set_viewport_size({"width": 1366, "height": 900})
    errors, outside = watch(page)
    page.goto(f"{sb.service}/console/operations")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/console/operations")
    expect(page.locator(".page-title")).to_have_text("运维")
    expect(page.locator(".el-menu-item.is-active")).to_have_text("运维")

    # 运行状态: the queues (as `flask scrm status`), a failed job counted.
    queues = page.locator(".ops-queues .el-table__body tr")
    expect(queues).to_have_count(5)
    expect(page.locator('[data-figure="failed"] .el-statistic__content')).to_contain_text("1")
    shot(page, "console-operations-1-status")

    # 失败任务: the job's function, queue and exception type (no arguments); retry after confirming.
    page.get_by_role("tab", name="失败任务").click()
    rows = page.locator(".ops-failed-table .el-table__body tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("tests.api.ops_jobs.fail_once")
    expect(rows.first).to_contain_text("LookupError")
    expect(page.locator(".ops-failed")).not_to_contain_text("13800138000")
    shot(page, "console-operations-2-failed")
    rows.first.locator("button.retry").click()
    dialog = page.locator(".el-message-box")
    expect(dialog).to_contain_text("重试失败任务")
    shot(page, "console-operations-3-retry-confirm")
    dialog.get_by_role("button", name="重试").click()
    expect(page.locator(".el-message--success", has_text="已重新加入队列")).to_be_visible()
    wait_for(lambda: connection.get(DONE + "browser") == b"1", "the retried job to run in the stack's worker")
    page.locator(".ops-failed").get_by_role("button", name="刷新").click()
    expect(page.locator(".ops-failed-table .el-table__empty-text")).to_have_text("没有失败任务")
    assert job_id not in FailedJobRegistry(queue=Queue("periodic", connection=connection)).get_job_ids()

    # 回调记录: the customer's add arrived as a callback; filtered by status.
    page.get_by_role("tab", name="回调记录").click()
    inbox = page.locator(".ops-inbox-table .el-table__body tr")
    expect(inbox.first).to_contain_text("change_external_contact")
    page.locator(".ops-inbox .el-select").nth(1).click()
    page.locator(".el-select-dropdown__item:visible", has_text="已处理").click()
    page.locator(".ops-inbox button.search").click()
    expect(inbox.first).to_contain_text("已处理")
    shot(page, "console-operations-4-inbox")

    # 同步记录: 「立即同步」 starts a run that the worker finishes.
    page.get_by_role("tab", name="同步记录").click()
    page.locator("button.sync-now").click()
    expect(page.locator(".el-message--success", has_text="已开始同步")).to_be_visible()
    syncs = page.locator(".ops-syncs-table .el-table__body tr")
    expect(syncs.first).to_contain_text("接口/后台")
    expect(syncs.first).to_contain_text("成功", timeout=60_000)  # refreshed every 5 s while it runs
    shot(page, "console-operations-5-syncs")

    # 接口错误率: the chart of the sync's WeCom calls, and the calls per API.
    page.get_by_role("tab", name="接口错误率").click()
    canvas = page.locator("#wecom-errors-chart canvas")
    canvas.wait_for(timeout=20_000)
    assert canvas.bounding_box()["width"] > 300 and canvas.bounding_box()["height"] > 200
    expect(page.locator(".ops-apis-table .el-table__body tr").first).to_be_visible()
    shot(page, "console-operations-6-wecom-errors")

    # 审计日志: the retry, recorded with who did it; filtered by action.
    page.get_by_role("tab", name="审计日志").click()
    page.locator(".ops-audit .el-select").first.click()
    page.locator(".el-select-dropdown__item:visible", has_text="重试失败任务").click()
    page.locator(".ops-audit button.search").click()
    audit = page.locator(".ops-audit-table .el-table__body tr")
    expect(audit).to_have_count(1)
    expect(audit.first).to_contain_text("console-admin:admin")
    expect(audit.first).to_contain_text(job_id[:8])
    shot(page, "console-operations-7-audit")

    # A deep link opens its tab.
    page.goto(f"{sb.service}/console/operations#audit")
    expect(page.get_by_role("tab", name="审计日志")).to_have_attribute("aria-selected", "true")
    assert errors == [] and outside == []
    page.close()
    assert requests.get(f"{sb.service}/api/v1/jobs/failed", headers=sb.headers, timeout=10).json() == []
