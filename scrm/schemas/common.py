"""Fields shared by the Open API schemas."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import ValidationError, fields, validates_schema

from scrm.clock import iso_z

DATETIME_NOTE = ("ISO-8601 in UTC with a `Z` suffix, to the second (e.g. `2024-05-01T08:30:00Z`). "
                 "Stored as naive UTC.")


class UtcDateTime(fields.DateTime):
    """Datetimes are stored as naive UTC; they go out as `YYYY-MM-DDTHH:MM:SSZ`.

    On input any ISO-8601 form is accepted: an offset is converted to UTC, a value without
    one is taken as UTC. (URL-encode a `+` offset, or use `Z`.)
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("format", "iso")
        metadata = kwargs.setdefault("metadata", {})
        description = metadata.get("description")
        metadata["description"] = f"{description} {DATETIME_NOTE}" if description else DATETIME_NOTE
        metadata.setdefault("example", "2024-05-01T08:30:00Z")
        super().__init__(**kwargs)

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return iso_z(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def described(description: str, **kwargs: Any) -> dict[str, Any]:
    """`metadata=` for a field: the description shown in the OpenAPI document."""
    return {"description": description, **kwargs}


class SinceUntilMixin:
    """For list arguments with a ``since``/``until`` pair ("between"): 422 when ``until`` is
    before ``since``."""

    @validates_schema
    def _until_not_before_since(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            raise ValidationError({"until": ["Must not be before `since`."]})
