"""Fixtures for the sync tests: a fake WeCom (fake.py) and a way to run a sync in-process."""
from __future__ import annotations

import pytest

from scrm.extensions import db
from scrm.models import SyncRun
from scrm.services import sync
from tests.conftest import TEST_CORP_ID
from tests.sync.fake import FakeWeCom


@pytest.fixture
def fake(wecom) -> FakeWeCom:
    return FakeWeCom(wecom)


@pytest.fixture
def corp(fake) -> FakeWeCom:
    """A small corp: 3 members (2 with customer contact), 2 tag groups, 5 customers (6 relations),
    3 groups. With 2 items per page every list takes several pages."""
    fake.add_staff("zhangsan", name="张三")
    fake.add_staff("lisi", name="李四")
    fake.add_staff("wangwu", name="王五", contact=False)
    fake.add_tag_group("etG1", "客户等级", {"etA": "A类", "etB": "B类"})
    fake.add_tag_group("etG2", "来源", {"etS": "展会"})
    fake.add_customer("wmC1", "客户一", "zhangsan", remark="老客户", tag_ids=("etA",))
    fake.add_customer("wmC2", "客户二", "zhangsan", "lisi", tag_ids=("etB", "etS"))
    fake.add_customer("wmC3", "客户三", "zhangsan")
    fake.add_customer("wmC4", "客户四", "lisi")
    fake.add_customer("wmC5", "客户五", "lisi")
    fake.add_group("wrG1", "zhangsan", "一群", "wmC1", "wmC2")
    fake.add_group("wrG2", "zhangsan", "二群", "wmC3")
    fake.add_group("wrG3", "lisi", "三群", "wmC4", "wmC5", "wmC1")
    return fake


class Sleeps(list):
    """An injected sleep: records what the sync would have slept, never sleeps."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def run_sync(app, sleeps):
    """Start a run and execute it here; returns the SyncRun row as it ended."""

    def run_sync(only=None, *, full: bool = False, concurrency: int = 2) -> SyncRun:
        run = sync.start(TEST_CORP_ID, only, full=full, requested_by="test", enqueue_job=False)
        sync.run(run.id, sleep=sleeps, concurrency=concurrency)
        return db.session.get(SyncRun, run.id, populate_existing=True)

    return run_sync
