"""The chat sidebar in a real browser: the whole stack in sandbox mode (`python -m sandbox.devstack`
with SQLite and an embedded Redis), the simulator's chat window opened in headless Chromium
(Debian's /usr/bin/chromium driven by Playwright; no browser is downloaded), the service's
sidebar in its <iframe> signed in through the simulator's OAuth page and talking to the chat
window through the JS-SDK stand-in. Run with `make browser` (CI runs it).

Screenshots (PNG) go to $SCRM_ARTIFACTS_DIR (default tests/browser/artifacts/)."""
from __future__ import annotations

import json
import os
import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.stack import ROOT, Sandbox, sandbox_stack, wait_for

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("SCRM_ARTIFACTS_DIR") or ROOT / "tests" / "browser" / "artifacts")
XSS = "<img src=x onerror=alert(1)>"
WIDTH = 400  # the toolbar's width for this run (WeCom's is 360–420 px)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with sandbox_stack(tmp_path_factory.mktemp("browser"), "browser", SANDBOX_CUSTOMERS="60", SANDBOX_STAFF="4",
                       SANDBOX_GROUPS="4", SANDBOX_LATENCY_MS="0-20", SCRM_WEB_WORKERS="2",
                       SCRM_WELCOME_WORKERS="1") as running:
        yield running


@pytest.fixture(scope="module")
def playwright():
    assert Path(CHROMIUM).exists(), "install Debian's chromium (see .ci/run)"
    with sync_playwright() as pw:
        yield pw


def _browser(pw, locale: str):
    with tempfile.TemporaryDirectory() as profile:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 1000}, locale=locale, timezone_id="Asia/Shanghai")
        yield context
        context.close()


@pytest.fixture(scope="module")
def browser(playwright):
    yield from _browser(playwright, "zh-CN")


@pytest.fixture(scope="module")
def english_browser(playwright):
    """A browser whose language is English (how it formats dates, how it shows <input type=date>)."""
    yield from _browser(playwright, "en-US")


def shot(target, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    target.screenshot(path=str(path))
    return path


def test_the_sidebar_in_the_simulated_chat_window(stack, browser):
    sb = Sandbox(stack)
    staff_row = [s for s in sb.world("staff")["staff"] if s["has_contact"] and s["active"]][0]
    staff = staff_row["userid"]

    # The world: a corp tag, two custom fields, and a customer whose name is markup.
    sb.act("create_corp_tag", group_name="浏览器测试", tag_name="高意向")
    sb.post("custom-fields", {"key": "budget", "label": "预算（元）", "type": "number"})
    sb.post("custom-fields", {"key": "level", "label": "客户等级", "type": "select", "options": ["A", "B", "C"]})
    customer = sb.act("add_customer", userid=staff, state="browser_test", name=XSS)["external_userid"]
    wait_for(lambda: any(r["userid"] == staff for r in (sb.api(f"customers/{customer}") or {}).get("relations", [])),
             "the customer in the service")
    group = sb.world("groups", staff=staff)["groups"][0]["chat_id"]
    sb.act("join_group", chat_id=group, member_ids=[customer], invitor=staff)
    wait_for(lambda: any(m["member_id"] == customer for m in (sb.api(f"groups/{group}") or {}).get("members", [])),
             "the customer in the group")

    page = browser.new_page()
    dialogs, outside, errors = [], [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def local_only(route):
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:  # nothing leaves this machine (e.g. an avatar on WeCom's image host)
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", local_only)

    def open_chat(**query):
        page.goto(f"{sb.simulator}/chat?staff={staff}&" + "&".join(f"{k}={v}" for k, v in query.items()))
        page.evaluate(f"document.querySelector('.chat-layout').style.gridTemplateColumns = "
                      f"'260px minmax(0, 1fr) {WIDTH}px'")
        return page.frame_locator("#sidebar-frame")

    # 1. The customer's profile, signed in through the simulator's OAuth page.
    frame = open_chat(customer=customer)
    name = frame.locator(".head .name")
    name.wait_for(timeout=20_000)
    assert name.text_content() == XSS  # literal text
    sidebar = page.locator("#sidebar-frame")
    assert sidebar.bounding_box()["width"] == pytest.approx(WIDTH, abs=2)
    assert frame.locator('img[src="x"], [onerror]').count() == 0
    assert frame.locator(".head img").count() in (0, 1)  # at most the avatar
    for heading in ("备注与描述", "来源", "同事也在跟进", "企业标签", "销售阶段", "自定义字段", "所在客户群",
                    "SOP 进度", "跟进记录", "客户动态"):
        assert frame.locator("h2", has_text=heading).count() == 1, heading
    assert frame.get_by_text("流失风险：暂无评估").count() == 1
    assert frame.locator(".row", has_text="渠道").text_content().endswith("browser_test")
    shot(sidebar, "01-customer-profile")
    # Figures for the README (no timing assertion): first paint and the profile, in ms from
    # the frame's navigation (the OAuth redirects through the simulator included).
    loaded = sidebar.element_handle().content_frame()
    timings = loaded.evaluate("""() => ({
        first_paint: Math.round((performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime),
        dom_content_loaded: Math.round(performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd),
        profile_shown_by: Math.round(performance.now())})""")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "timings.json").write_text(json.dumps(timings))
    print("sidebar timings (ms):", timings)

    # 2. A corp tag, toggled and saved: the service calls mark_tag on the simulator.
    chip = frame.locator(".tags-card .chip", has_text="高意向")
    if chip.count() == 0:  # the tag's callback may still be on its way: reload the view
        wait_for(lambda: (frame.locator("#reload").click(), chip.count())[1], "the new tag in the sidebar")
    chip.click()
    frame.get_by_role("button", name="保存标签").click()
    frame.locator(".tags-card .chip.on", has_text="高意向").wait_for()
    marks = wait_for(lambda: [e for e in sb.feed("api_call") if "mark_tag" in e["path"]
                              and customer in str(e.get("body"))], "mark_tag at the simulator")
    assert marks[-1]["errcode"] == 0 and staff in str(marks[-1]["body"])

    # 3. The stage and a custom field.
    frame.get_by_label("销售阶段").select_option(index=2)
    frame.locator("#toast", has_text="销售阶段已更新").wait_for()
    frame.locator(".timeline li", has_text="销售阶段变更").wait_for()  # the timeline refreshed, no 刷新
    frame.get_by_label("预算（元）").fill("12000")
    frame.get_by_label("客户等级").select_option("B")
    frame.get_by_role("button", name="保存字段").click()
    frame.locator("#toast", has_text="字段已保存").wait_for()
    assert frame.get_by_label("预算（元）").input_value() == "12000"

    # 4. A follow-up: written, then on the list.
    frame.get_by_label("跟进方式").select_option("call")
    frame.locator(".follow-up-form textarea").fill("电话沟通：关心价格，下周再约")
    frame.get_by_role("button", name="保存跟进").click()
    item = frame.locator(".follow-ups li", has_text="电话沟通：关心价格，下周再约")
    item.wait_for()
    frame.locator(".timeline li", has_text="跟进记录：电话：电话沟通").wait_for()
    assert "电话" in item.text_content()
    item.scroll_into_view_if_needed()
    shot(sidebar, "02-customer-edited")

    # 5. A script from the 话术 tab: one tap sends it into the chat (pane and simulator feed).
    frame.get_by_role("button", name="话术/素材").click()
    frame.locator(".content-item", has_text="服务时间").wait_for()  # the whole library first
    frame.get_by_placeholder("搜索话术、素材").fill("报价")
    expect(frame.locator(".content-item", has_text="服务时间")).to_have_count(0)  # the search narrowed it
    script = frame.locator(".content-item", has_text="标准报价")
    script.wait_for()
    shot(sidebar, "03-content-library")
    script.click()
    frame.locator(".content-item", has_text="已发送").wait_for()
    bubble = page.locator("#messages .bubble").last
    bubble.wait_for()
    assert bubble.text_content().startswith(XSS + "您好，标准版")  # {nickname} rendered, as text
    sent = wait_for(lambda: [e for e in sb.feed("chat_message") if e.get("external_userid") == customer],
                    "the sent script in the simulator feed")
    assert sent[-1]["text"].startswith(XSS + "您好") and sent[-1]["staff"] == staff
    assert frame.locator(".content-item", has_text="标准报价").get_by_text("已用 1 次").count() == 1
    shot(page, "04-chat-window")

    # 6. The group chat view, and from a member back to their customer view.
    frame = open_chat(chat=group)
    frame.locator(".head .name").wait_for(timeout=20_000)
    assert frame.locator("h2", has_text="群SOP").count() == 1
    assert frame.locator(".group-sop").get_by_text("暂无群SOP").count() == 1  # no plan yet
    member = frame.locator(".members button.member", has_text=XSS)
    member.wait_for()
    assert frame.locator(".numbers").text_content().count("客户") == 1
    shot(page.locator("#sidebar-frame"), "05-group-view")
    member.click()
    frame.locator(".head .name", has_text=XSS).wait_for()
    assert frame.locator(".follow-ups li", has_text="电话沟通").count() == 1
    frame.locator("#back").click()
    frame.locator("h2", has_text="群SOP").wait_for()

    # 7. A customer only WeCom knows yet (seeded in the simulator, never synced): 客户尚未同步,
    #    then fetched from WeCom on request.
    seeded = next(c for c in sb.world("customers", staff=staff, page_size=50)["customers"]
                  if c["external_userid"] != customer and sb.api(f"customers/{c['external_userid']}") is None)
    frame = open_chat(customer=seeded["external_userid"])
    frame.get_by_text("客户尚未同步").wait_for(timeout=20_000)
    shot(page.locator("#sidebar-frame"), "06-not-synced")
    frame.get_by_role("button", name="从企业微信获取").click()
    frame.locator(".head .name", has_text=seeded["name"]).wait_for()
    assert sb.api(f"customers/{seeded['external_userid']}")["name"] == seeded["name"]

    # 8. An SOP reminder step: the card goes to the staff member, and the customer's sidebar
    #    holds the step's content ready to send in one tap.
    sb.post("sops", {"name": "新客问候", "steps": [{"name": "当天问候", "delay_minutes": 0, "delivery": "reminder",
                                                 "text": "{nickname}您好，这是为您准备的新客资料"}]})
    sop_customer = sb.act("add_customer", userid=staff, state="sop_test", name="SOP客户")["external_userid"]
    wait_for(lambda: (sb.api(f"customers/{sop_customer}/sops") or [{}])[0].get("total") == 1, "the SOP enrollment")
    sb.flask("scrm", "tick")  # the sop-steps sweep now, rather than within the scheduler's minute
    wait_for(lambda: [e for e in sb.feed("app_message") if "客户SOP提醒" in str(e.get("content"))],
             "the SOP reminder card")
    # The card reaches WeCom just before the job commits the task as sent; the sidebar lists sent
    # reminders only, so wait for the commit rather than race it on a loaded machine.
    wait_for(lambda: ((sb.api(f"customers/{sop_customer}/sops") or [{}])[0].get("steps") or [{}])[0]
             .get("status") == "sent", "the SOP task recorded as sent")
    frame = open_chat(customer=sop_customer)
    task_card = frame.locator(".sop-task", has_text="当天问候")
    task_card.wait_for(timeout=20_000)
    shot(page.locator("#sidebar-frame"), "07-sop-reminder")
    task_card.get_by_role("button", name="发送").click()
    task_card.get_by_text("已于").wait_for()
    wanted = "SOP客户您好，这是为您准备的新客资料"  # {nickname} rendered for this customer
    wait_for(lambda: [e for e in sb.feed("chat_message") if e.get("external_userid") == sop_customer
                      and e["text"] == wanted], "the SOP content in the chat")
    assert [s["status"] for s in sb.api(f"customers/{sop_customer}/sops")[0]["steps"]] == ["sent"]  # the card

    # 9. A group SOP reminder: a plan for the staff member's new groups; the card goes to the
    #    owner, and the new group's sidebar holds the content (its name is markup) to send in one tap.
    plan = sb.post("group-sops", {"name": "新群欢迎", "targets": {"owners": [staff]}, "delivery": "reminder",
                                  "schedule": {"kind": "group_created"},
                                  "steps": [{"name": "建群欢迎", "delay_minutes": 0,
                                             "text": "欢迎来到{group_name}，我是{staff_name}"}]})
    time.sleep(1.1)  # the group is created after the plan starts (WeCom's times are whole seconds)
    new_group = sb.act("create_group", owner=staff, name=XSS, member_ids=[customer])["chat_id"]
    wait_for(lambda: sb.api(f"groups/{new_group}"), "the new group in the service")
    wait_for(lambda: (sb.flask("scrm", "tick"), [e for e in sb.feed("app_message")
                                                 if "群SOP提醒" in str(e.get("content"))])[1],
             "the group SOP reminder card")
    wait_for(lambda: [e["status"] for e in sb.api(f"group-sops/{plan['id']}/executions") or []] == ["awaiting"],
             "the group SOP execution recorded as waiting for the owner")  # committed after the card
    frame = open_chat(chat=new_group)
    reminder = frame.locator(".group-sop-task", has_text="建群欢迎")
    reminder.wait_for(timeout=20_000)
    wanted = f"欢迎来到{XSS}，我是{staff_row['name']}"  # {group_name}, {staff_name} rendered, shown as text
    expect(reminder.locator(".message")).to_have_text([wanted])
    shot(page.locator("#sidebar-frame"), "08-group-sop-reminder")
    reminder.get_by_role("button", name="发送").click()
    reminder.get_by_text("已于").wait_for()
    wait_for(lambda: [e for e in sb.feed("chat_message") if e.get("chat_id") == new_group and e["text"] == wanted],
             "the group SOP content in the group chat")
    executions = sb.api(f"group-sops/{plan['id']}/executions")
    assert [(e["chat_id"], e["status"]) for e in executions] == [(new_group, "sent")]
    frame.locator("#reload").click()
    frame.locator(".group-sop .calendar .pill", has_text="已发送").wait_for()

    assert frame.locator('img[src="x"], [onerror]').count() == 0
    assert dialogs == [] and errors == []
    assert all("127.0.0.1" not in u for u in outside)


def test_edits_made_in_wecom_and_a_customer_who_deleted_the_staff_member(stack, english_browser):
    """An edit made in WeCom shows old → new on the timeline; then the customer deletes the staff
    member: 「客户已删除你」 with the time, the history and follow-ups still there, nothing to edit
    that WeCom would refuse. In an English-locale browser, dates still read yyyy-mm-dd."""
    sb = Sandbox(stack)
    staff = [s for s in sb.world("staff")["staff"] if s["has_contact"] and s["active"]][-1]["userid"]
    sb.post("custom-fields", {"key": "visit_on", "label": "回访日期", "type": "date"})
    customer = sb.act("add_customer", userid=staff, state="deleted_test", name="删除测试")["external_userid"]

    def relation():
        return next((r for r in (sb.api(f"customers/{customer}") or {}).get("relations", []) if r["userid"] == staff),
                    None)

    wait_for(relation, "the customer in the service")
    page = english_browser.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{sb.simulator}/chat?staff={staff}&customer={customer}")
    frame = page.frame_locator("#sidebar-frame")
    frame.locator(".head .name", has_text="删除测试").wait_for(timeout=20_000)
    inner = page.locator("#sidebar-frame").element_handle().content_frame()
    assert inner.evaluate("Intl.DateTimeFormat().resolvedOptions().locale") == "en-US"
    assert frame.locator('input[type="date"], input[type="datetime-local"]').count() == 0
    frame.get_by_label("回访日期").fill("2026-12-31")
    frame.get_by_role("button", name="保存字段").click()
    frame.locator("#toast", has_text="字段已保存").wait_for()
    assert frame.get_by_label("回访日期").input_value() == "2026-12-31"
    frame.locator(".timeline li", has_text="修改客户资料：回访日期").wait_for()  # refreshed after the save
    added = frame.locator(".row", has_text="添加时间").locator(".value").text_content()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", added), added
    next_day = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%d")
    frame.get_by_label("下次跟进时间").fill(next_day + " 10:00")
    frame.locator(".follow-up-form textarea").fill("报价已发，等回复")
    frame.get_by_role("button", name="保存跟进").click()
    frame.locator(".follow-ups li", has_text="报价已发").get_by_text(f"下次跟进 {next_day} 10:00").wait_for()

    # An edit made in WeCom (the member's app): old → new on the timeline, marked 企业微信.
    sb.act("edit_customer", userid=staff, external_userid=customer, remark="浏览器备注")
    wait_for(lambda: (relation() or {}).get("remark") == "浏览器备注", "the WeCom edit in the service")
    frame.locator("#reload").click()
    change = frame.locator(".timeline li", has_text="资料更新")
    change.wait_for()
    assert "→ 浏览器备注" in change.text_content() and "企业微信" in change.text_content()
    change.scroll_into_view_if_needed()
    shot(page.locator("#sidebar-frame"), "09-wecom-edit-on-the-timeline")

    # The customer deletes the staff member.
    sb.act("customer_deletes_staff", userid=staff, external_userid=customer)
    wait_for(lambda: (relation() or {}).get("status") == "deleted_by_customer", "the deletion in the service")
    frame.locator("#reload").click()
    deleted = frame.locator(".deleted")
    deleted.wait_for()
    assert deleted.locator("h2").text_content() == "客户已删除你"
    assert re.search(r"客户于 \d{4}-\d{2}-\d{2} \d{2}:\d{2} 将你从好友中删除", deleted.text_content())
    assert frame.get_by_text("无权查看").count() == 0
    frame.locator(".timeline li", has_text="客户删除成员").wait_for()
    assert frame.locator(".follow-ups li", has_text="报价已发").count() == 1
    assert frame.get_by_role("button", name="编辑").count() == 0  # WeCom edits a friend's remark only
    assert frame.get_by_role("button", name="保存标签").count() == 0
    assert frame.get_by_label("销售阶段").is_disabled() and frame.get_by_label("回访日期").is_disabled()
    assert frame.get_by_text("流失风险：暂无评估").count() == 1
    # When scrm/services/profile/risk.py answers an assessment, the card renders it (as text).
    risk = inner.evaluate("""() => {
        const el = (tag, cls, text) => { const n = document.createElement(tag); if (cls) n.className = cls;
                                         if (text) n.textContent = String(text); return n; };
        const append = (parent, ...kids) => { kids.filter(Boolean).forEach(k => parent.appendChild(
            typeof k === "string" ? document.createTextNode(k) : k)); return parent; };
        const card = (heading, cls) => el("section", "card " + cls);
        const cards = window.scrmSidebarParts({el, append, card, day: iso => iso.slice(0, 10)});
        const box = cards.churnCard({level: "dormant", level_label: "沉睡", days_silent: 31,
                                     last_interaction_at: "2026-11-02T08:00:00Z",
                                     reasons: ["31 天没有互动", "<b>x</b>"]});
        return [box.className, box.querySelector("strong").textContent, box.querySelector(".muted").textContent,
                [...box.querySelectorAll("li")].map(li => li.textContent), box.querySelectorAll("b").length];
    }""")
    assert risk == ["card churn risk-dormant", "流失风险：沉睡", "31 天未互动 · 最近互动 2026-11-02",
                    ["31 天没有互动", "<b>x</b>"], 0]
    deleted.scroll_into_view_if_needed()
    shot(page.locator("#sidebar-frame"), "10-deleted-by-customer")
    assert errors == []

