"""Per-corp churn configuration: thresholds (the corp's default and per segment) and mirroring
levels to WeCom corp tags. Used by `flask scrm churn threshold …` / `… mirror`; commits."""
from __future__ import annotations

from sqlalchemy import delete, select

from scrm.extensions import db
from scrm.models import ChurnSetting, ChurnThreshold, FunnelStage, Tag
from scrm.models.churn import RiskLevel

KINDS = ("corp", "tag", "stage")


def set_threshold(corp_id: str, kind: str, value: str, *, cooling_days: int, dormant_days: int,
                  lost_days: int, priority: int = 100, name: str | None = None) -> ChurnThreshold:
    """Create or replace the thresholds of a segment (kind corp: the corp's default, value "").
    ValueError when the days are not increasing or the segment names nothing we know."""
    if kind not in KINDS:
        raise ValueError(f"kind is one of {', '.join(KINDS)}")
    if not 0 < cooling_days < dormant_days < lost_days:
        raise ValueError("days must increase: 0 < cooling < dormant < lost")
    value = "" if kind == "corp" else (value or "").strip()
    if kind == "tag" and db.session.scalar(select(Tag.id).filter_by(corp_id=corp_id, tag_id=value,
                                                                    deleted=False)) is None:
        raise ValueError(f"no corp tag {value!r}")
    if kind == "stage" and db.session.scalar(select(FunnelStage.id).where(
            FunnelStage.corp_id == corp_id, FunnelStage.id == (int(value) if value.isdigit() else -1),
            FunnelStage.deleted.is_(False))) is None:
        raise ValueError(f"no funnel stage {value!r}")
    row = db.session.scalar(select(ChurnThreshold).filter_by(corp_id=corp_id, kind=kind, value=value))
    if row is None:
        row = ChurnThreshold(corp_id=corp_id, kind=kind, value=value)
        db.session.add(row)
    row.cooling_days, row.dormant_days, row.lost_days = cooling_days, dormant_days, lost_days
    row.priority, row.name = priority, name
    db.session.commit()
    return row


def delete_threshold(corp_id: str, kind: str, value: str) -> bool:
    value = "" if kind == "corp" else value
    gone = db.session.execute(delete(ChurnThreshold).filter_by(corp_id=corp_id, kind=kind, value=value)).rowcount
    db.session.commit()
    return bool(gone)


def list_thresholds(corp_id: str) -> list[dict]:
    rows = db.session.scalars(select(ChurnThreshold).filter_by(corp_id=corp_id)
                              .order_by(ChurnThreshold.priority, ChurnThreshold.kind.desc(), ChurnThreshold.id))
    return [{"kind": r.kind, "value": r.value, "name": r.name, "priority": r.priority,
             "cooling_days": r.cooling_days, "dormant_days": r.dormant_days, "lost_days": r.lost_days} for r in rows]


def set_mirroring(corp_id: str, on: bool, tag_ids: dict[str, str] | None = None) -> dict:
    """Turn mirroring on or off; ``tag_ids`` (level → corp tag id) replaces the mapping when given."""
    row = db.session.scalar(select(ChurnSetting).filter_by(corp_id=corp_id))
    if row is None:
        row = ChurnSetting(corp_id=corp_id, mirror_tags=False, tag_ids={})
        db.session.add(row)
    if tag_ids is not None:
        unknown = sorted(set(tag_ids) - {level.value for level in RiskLevel})
        if unknown:
            raise ValueError(f"not levels: {', '.join(unknown)}")
        known = set(db.session.scalars(select(Tag.tag_id).where(Tag.corp_id == corp_id, Tag.deleted.is_(False),
                                                                Tag.tag_id.in_(list(tag_ids.values())))))
        missing = sorted(set(tag_ids.values()) - known)
        if missing:
            raise ValueError(f"no corp tags: {', '.join(missing)}")
        row.tag_ids = dict(tag_ids)
    if on and not row.tag_ids:
        raise ValueError("map at least one level to a corp tag (--tag level=tag_id)")
    row.mirror_tags = on
    db.session.commit()
    return {"mirror_tags": row.mirror_tags, "tag_ids": row.tag_ids}
