"""Mirroring risk levels to WeCom corp tags (`mark_tag`) for a corp that turns it on: changed
levels re-tagged, a batch a night, our copy of the relation's tags updated; off by default."""
from __future__ import annotations

import json

import responses
from sqlalchemy import select

from scrm.config import override
from scrm.extensions import db
from scrm.models import RelationRisk, RelationTag
from scrm.queueing import sweep_named
from tests.churn.conftest import MARK_TAG_URL, local, relation
from tests.welcome.support import gen_tags


def marked(wecom) -> list[dict]:
    return [json.loads(c.request.body) for c in wecom.calls if "/externalcontact/mark_tag?" in c.request.url]


def relation_tags(external_userid: str) -> list[str]:
    return sorted(db.session.scalars(select(RelationTag.tag_id).filter_by(external_userid=external_userid)))


def test_levels_are_mirrored_to_tags_in_nightly_batches(churn_app, runner, wecom):
    gen_tags(("etCOOL", "降温客户"), ("etDORM", "沉睡客户"), ("etLOST", "流失客户"), group=("etCHURN", "流失风险"))
    for external_userid in ("wmA", "wmB", "wmC"):
        relation("zhangsan", external_userid, "2026-01-01 10:00")
    relation("zhangsan", "wmGone", "2026-01-01 10:00", status="deleted_by_customer")
    db.session.commit()
    replies = {"wmC": {"errcode": 84061, "errmsg": "not external contact"}}
    wecom.add_callback(responses.POST, MARK_TAG_URL, callback=lambda request: (
        200, {}, json.dumps(replies.get(json.loads(request.body)["external_userid"], {"errcode": 0, "errmsg": "ok"}))))
    sweep = sweep_named("churn-scoring")

    sweep.run(local("2026-01-02 05:00"))  # off by default
    assert marked(wecom) == []

    bad = runner.invoke(args=["scrm", "churn", "mirror", "--on", "--tag", "dormant=etNOPE"])
    assert bad.exit_code != 0 and "no corp tags" in bad.output
    result = runner.invoke(args=["scrm", "churn", "mirror", "--on", "--tag", "cooling=etCOOL",
                                 "--tag", "dormant=etDORM", "--tag", "lost=etLOST"])
    assert result.exit_code == 0, result.output
    override(churn_app, CHURN_MIRROR_BATCH=2)
    sweep.run(local("2026-01-03 05:00"))  # active has no tag: the other level tags are removed
    first = marked(wecom)
    assert [b["external_userid"] for b in first] == ["wmA", "wmB"]  # two a night; a lost relation is not tagged
    assert first[0] == {"userid": "zhangsan", "external_userid": "wmA", "add_tag": [],
                        "remove_tag": ["etCOOL", "etDORM", "etLOST"]}

    sweep.run(local("2026-01-16 05:00"))  # 14 days silent: all three cooling; two a night
    db.session.expire_all()
    later = marked(wecom)[2:]
    assert [(b["external_userid"], b["add_tag"]) for b in later] == [("wmA", ["etCOOL"]), ("wmB", ["etCOOL"])]
    assert later[0]["remove_tag"] == ["etDORM", "etLOST"]
    assert relation_tags("wmA") == ["etCOOL"]
    tag = db.session.scalar(select(RelationTag).filter_by(external_userid="wmA"))
    assert (tag.tag_name, tag.group_name, tag.type) == ("降温客户", "流失风险", 1)

    sweep.run(local("2026-01-17 05:00"))  # wmC's turn: WeCom refuses for good (84061)
    assert [b["external_userid"] for b in marked(wecom)[4:]] == ["wmC"]
    db.session.expire_all()
    c = db.session.scalar(select(RelationRisk).filter_by(external_userid="wmC"))
    assert c.tagged_level == c.level == "cooling" and relation_tags("wmC") == []  # not retried until it changes
    sweep.run(local("2026-01-18 05:00"))
    assert len(marked(wecom)) == 5  # all mirrored: nothing to do

    off = runner.invoke(args=["scrm", "churn", "mirror", "--off"])
    assert off.exit_code == 0 and json.loads(off.output)["mirror_tags"] is False
