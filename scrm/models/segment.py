"""Saved customer segments (分群): a named filter of the customer list (issue #14, part 4).

The filter is stored as the JSON the list's query schema accepts
(scrm/schemas/customer_search.py); it is validated again whenever it is used, so a segment
saved before a filter changed meaning answers 422 rather than something unexpected."""
from __future__ import annotations

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.extensions import db
from scrm.models.base import CorpScoped, Timestamped


class CustomerSegment(CorpScoped, Timestamped, db.Model):
    __tablename__ = "customer_segment"
    __table_args__ = (UniqueConstraint("corp_id", "name"),)
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(256))
    filters: Mapped[dict] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(64))  # console actor / token name
