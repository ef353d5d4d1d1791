"""The 销售漏斗 page in a real browser over the sandbox stack: a member's customers moved through
the funnel stages (the sidebar's set_stage use case), the night's aggregation rebuilt, then the
page filtered by channel and member, its charts drawn, and an XLSX export. Screenshot
console-reports-funnel.png in $SCRM_ARTIFACTS_DIR."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.browser.console_support import PASSWORD, console_stack, create_admin
from tests.browser.test_console_browser import watch
from tests.browser.test_sidebar_browser import _browser, playwright, shot  # noqa: F401  (fixture)
from tests.stack import ROOT, Sandbox, wait_for

pytestmark = pytest.mark.browser
SHANGHAI = timezone(timedelta(hours=8))
NAMES = ["漏斗客户<b>甲</b>", "漏斗客户乙", "漏斗客户丙"]
STAGES = ["漏斗测试接触", "漏斗测试意向", "漏斗测试成交"]  # after the corp's default stages
# Through the same use case the sidebar's PUT /sidebar/api/customers/<id>/stage runs.
SET_STAGES = """
import json, sys
from wsgi import app
from scrm.models import FollowRelation
from scrm.services.profile.edits import set_stage
moves = json.loads(sys.argv[1])
with app.app_context():
    for external_userid, userid, stage_ids in moves:
        corp_id = FollowRelation.query.filter_by(external_userid=external_userid, userid=userid).one().corp_id
        for stage_id in stage_ids:
            set_stage(corp_id, userid, external_userid, stage_id)
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with console_stack(tmp_path_factory, "console-funnel", SANDBOX_CUSTOMERS="6", SANDBOX_STAFF="3") as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright):  # noqa: F811
    yield from _browser(playwright, "zh-CN")


def test_a_manager_reads_the_funnel_filters_by_channel_and_exports(stack, browser):
    sb = Sandbox(stack)
    create_admin(sb)
    staff = [s for s in sb.world("staff")["staff"] if s["has_contact"] and s["active"]]
    member, member_name = staff[0]["userid"], staff[0]["name"]
    added = [sb.act("add_customer", userid=member, state="funnel_browser", name=name)["external_userid"]
             for name in NAMES]
    wait_for(lambda: all(sb.api(f"customers/{e}") for e in added), "the customers in the service")
    ids = [sb.post("funnel-stages", {"name": name, "order": 100 + n})["id"] for n, name in enumerate(STAGES)]
    moves = [[added[0], member, ids[:1]], [added[1], member, ids[:2]], [added[2], member, ids]]
    subprocess.run([sys.executable, "-c", SET_STAGES, json.dumps(moves)], cwd=ROOT, env=sb.flask_env, check=True,
                   capture_output=True, text=True)
    today = datetime.now(SHANGHAI).date()
    sb.flask("scrm", "reports", "rebuild", "--from", today.isoformat(), "--to", today.isoformat())

    page = browser.new_page()
    page.set_viewport_size({"width": 1440, "height": 960})
    errors, outside = watch(page)
    page.goto(f"{sb.service}/console/login?next=/console/reports/funnel")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/console/reports/funnel")
    expect(page.locator('[data-report="funnel"]')).to_have_class("report-nav-link active")
    for name in STAGES:  # one customer ends in each stage; entries 3, 2, 1
        expect(page.locator(f'[data-stage="{name}"] .figure-value')).to_have_text("1")
    expect(page.locator(f'[data-stage="{STAGES[0]}"]')).to_contain_text("进入 3 · 转化 66.7%")
    page.locator("#funnel-chart canvas").wait_for(timeout=20_000)
    page.locator("#funnel-trend canvas").wait_for(timeout=20_000)
    shot(page, "console-reports-funnel")

    # the channel code, then the member: one row each
    page.locator('[data-field="channel"]').click()
    page.locator(".el-select-dropdown__item:visible", has_text="funnel_browser").first.click()
    rows = page.locator('[data-table="staff"] .el-table__body-wrapper .el-table__row')
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(member_name)
    page.get_by_role("tab", name="按渠道").click()
    channel_rows = page.locator('[data-table="channels"] .el-table__body-wrapper .el-table__row')
    expect(channel_rows).to_have_count(1)
    expect(channel_rows.first).to_contain_text("funnel_browser")

    page.locator('[data-action="export"]').click()
    with page.expect_download() as download:
        page.locator(".el-dropdown-menu__item:visible", has_text="按成员导出 Excel").click()
    book = load_workbook(io.BytesIO(open(download.value.path(), "rb").read()))
    exported = [[c.value for c in row] for row in book.active.iter_rows()]
    mine = dict(zip(exported[0], exported[1], strict=True))
    assert (mine["成员账号"], mine["客户数"]) == (member, 3)
    assert [(mine[f"{name}·客户数"], mine[f"{name}·进入"]) for name in STAGES] == [(1, 3), (1, 2), (1, 1)]
    assert exported[-1][0] == "合计"
    assert errors == [] and outside == []
