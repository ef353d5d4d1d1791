"""The nightly run: WeCom's per-owner figures pulled (paged by offset, retried, failures recorded),
the group rows rebuilt, once per local day; and `flask scrm group-stats rebuild`."""
from __future__ import annotations

import json
from datetime import date, datetime

import pytest
import responses
from sqlalchemy import select

from scrm import clock
from scrm.config import override
from scrm.extensions import db
from scrm.models import GroupDailyStat, GroupOwnerDailyStat, GroupStatsPull
from scrm.queueing import sweep_named
from scrm.services.group_stats import pull
from scrm.wecom.group_stats import day_timestamp
from tests.conftest import TEST_CORP_ID, WECOM_BASE
from tests.group_stats.conftest import D2, local

STAT_URL = WECOM_BASE + "externalcontact/groupchat/statistic"
NIGHT = local("2026-11-13 04:30")  # after SCRM_GROUP_STATS_AT 04:00 local; yesterday = 11-12
FIGURES = {"zhangsan": (0, 2, 1, 1, 7, 3, 42), "lisi": (1, 1, 1, 2, 2, 1, 5)}
NAMES = ("new_chat_cnt", "chat_total", "chat_has_msg", "new_member_cnt", "member_total", "member_has_msg",
         "msg_total")


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps(monkeypatch) -> Sleeps:
    recorded = Sleeps()
    monkeypatch.setattr(pull, "real_sleep", recorded)
    return recorded


@pytest.fixture
def statistic(wecom):
    """groupchat/statistic answering one owner per page (so the offset paging is exercised);
    ``replies`` can queue errcodes to answer first."""
    state = {"bodies": [], "errors": []}

    def reply(request):
        body = json.loads(request.body)
        state["bodies"].append(body)
        if state["errors"]:
            return 200, {}, json.dumps({"errcode": state["errors"].pop(0), "errmsg": "busy"})
        owners = [o for o in body["owner_filter"]["userid_list"] if o in FIGURES]
        offset = body["offset"]
        items = [{"owner": o, "data": dict(zip(NAMES, FIGURES[o], strict=True)) | {"migrate_trainee_chat_cnt": 0}}
                 for o in owners[offset:offset + 1]]
        return 200, {}, json.dumps({"errcode": 0, "errmsg": "ok", "total": len(owners),
                                    "next_offset": offset + len(items), "items": items})

    wecom.add_callback(responses.POST, STAT_URL, callback=reply)
    return state


def owner_rows() -> dict[tuple[date, str], tuple]:
    return {(r.day, r.owner): tuple(getattr(r, n) for n in NAMES)
            for r in db.session.scalars(select(GroupOwnerDailyStat))}


def test_nightly_pulls_pages_and_rebuilds_once_a_day(history, statistic, sleeps):
    sweep = sweep_named("group-stats")
    assert sweep.run(local("2026-11-13 03:59")) == 0 and statistic["bodies"] == []
    clock.freeze(NIGHT)
    assert sweep.run(NIGHT) == 1
    day = date(2026, 11, 12)
    assert owner_rows() == {(day, o): v for o, v in FIGURES.items()}
    assert [b["offset"] for b in statistic["bodies"]] == [0, 1]
    first = statistic["bodies"][0]
    assert first["day_begin_time"] == first["day_end_time"] == day_timestamp(day) == 1794412800  # 2026-11-11 16:00 UTC
    assert sorted(first["owner_filter"]["userid_list"]) == ["lisi", "zhangsan"]
    days = sorted({r.day for r in db.session.scalars(select(GroupDailyStat))})
    assert days == [date(2026, 11, 11), day]  # the last two local days
    (run,) = db.session.scalars(select(GroupStatsPull))
    assert (run.run_day, run.status, run.attempts, run.owners, run.rows) == (date(2026, 11, 13), "done", 1, 2, 2)
    assert sweep.run(NIGHT) == 0 and len(statistic["bodies"]) == 2  # once per local day


def test_owner_filter_is_split_by_100(history, statistic, sleeps):
    from scrm.models import GroupChat
    db.session.add_all(GroupChat(corp_id=TEST_CORP_ID, chat_id=f"wrM{i}", owner=f"u{i:03d}",
                                 create_time=local("2026-11-01 09:00")) for i in range(150))
    db.session.commit()
    clock.freeze(NIGHT)
    assert pull.pull_day(TEST_CORP_ID, date(2026, 11, 12), sleep=sleeps) == 2
    sizes = [len(b["owner_filter"]["userid_list"]) for b in statistic["bodies"]]
    assert sizes == [100, 52]  # 152 owners in userid order: lisi, u000…u149, zhangsan


def test_retryable_errors_are_retried_and_failures_recorded_then_retried(history, statistic, sleeps):
    sweep = sweep_named("group-stats")
    clock.freeze(NIGHT)
    statistic["errors"] = [-1, 48002]  # system busy (retried after 1 s), then a permanent refusal
    assert sweep.run(NIGHT) == 0
    assert sleeps == [1.0]
    (run,) = db.session.scalars(select(GroupStatsPull))
    assert run.status == "failed" and run.attempts == 1 and "errcode=48002" in run.error
    # our own group rows are kept (committed before WeCom is called); WeCom's figures are not there
    assert owner_rows() == {} and db.session.scalar(select(GroupDailyStat.id)) is not None
    assert sweep.run(NIGHT) == 1  # the next tick tries again
    db.session.refresh(run)
    assert run.status == "done" and run.attempts == 2 and run.error is None and len(owner_rows()) == 2


def test_failed_runs_stop_after_max_attempts(history, statistic, sleeps):
    sweep = sweep_named("group-stats")
    clock.freeze(NIGHT)
    statistic["errors"] = [48002] * 5
    assert [sweep.run(NIGHT) for _ in range(5)] == [0] * 5
    (run,) = db.session.scalars(select(GroupStatsPull))
    assert run.attempts == pull.MAX_ATTEMPTS and len(statistic["bodies"]) == pull.MAX_ATTEMPTS


def test_only_days_wecom_answers_for(app):
    now = datetime(2026, 11, 13, 0)
    assert pull.pullable(date(2026, 11, 12), now) and not pull.pullable(date(2026, 11, 13), now)
    assert not pull.pullable(date(2026, 5, 15), now) and pull.pullable(date(2026, 5, 17), now)
    with pytest.raises(ValueError, match="yesterday or earlier"):
        pull.pull_day(TEST_CORP_ID, date(2026, 11, 13), now=now)


def test_off_switch(app, history, statistic):
    override(app, GROUP_STATS_AT=None)
    assert sweep_named("group-stats").run(NIGHT) == 0 and statistic["bodies"] == []


def test_tick_runs_the_sweep(app, runner, history, statistic, sleeps):
    override(app, NIGHTLY_SYNC_AT=None)
    result = runner.invoke(args=["scrm", "tick", "--now", "2026-11-13T04:30:00+08:00"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["group-stats"] == 1 and len(owner_rows()) == 2


def test_rebuild_command(app, runner, history, statistic, sleeps):
    clock.freeze(NIGHT)
    result = runner.invoke(args=["scrm", "group-stats", "rebuild", "--from", "2026-11-10", "--to", "2026-11-13",
                                 "--pull"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"from": "2026-11-10", "to": "2026-11-13", "group_rows": 9,
                                         "owner_rows": 6, "days_pulled": 3, "days_skipped": 1}
    assert db.session.scalar(select(GroupDailyStat.members).filter_by(day=D2, chat_id="wrG1")) == 3
    again = runner.invoke(args=["scrm", "group-stats", "rebuild", "--from", "2026-11-10", "--to", "2026-11-13"])
    assert json.loads(again.output)["group_rows"] == 9 and len(statistic["bodies"]) == 6
    bad = runner.invoke(args=["scrm", "group-stats", "rebuild", "--from", "2026-11-12", "--to", "2026-11-10"])
    assert bad.exit_code == 2 and "--to is before --from" in bad.output
    future = runner.invoke(args=["scrm", "group-stats", "rebuild", "--from", "2026-11-12", "--to", "2026-11-20"])
    assert future.exit_code == 2 and "future" in future.output


def test_a_run_in_progress_elsewhere_is_left_alone_until_stale(history, statistic, sleeps):
    sweep = sweep_named("group-stats")
    clock.freeze(NIGHT)
    db.session.add(GroupStatsPull(corp_id=TEST_CORP_ID, run_day=date(2026, 11, 13), status="running",
                                  attempts=1, started_at=NIGHT))
    db.session.commit()
    assert sweep.run(NIGHT) == 0 and statistic["bodies"] == []  # another scheduler is on it
    later = local("2026-11-13 05:10")  # 40 minutes on: that worker died
    clock.freeze(later)
    assert sweep.run(later) == 1
    (run,) = db.session.scalars(select(GroupStatsPull))
    db.session.refresh(run)
    assert (run.status, run.attempts) == ("done", 2) and len(owner_rows()) == 2
