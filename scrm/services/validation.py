"""Input the schemas cannot judge alone (it needs the database: tags, media, staff, states)."""
from __future__ import annotations


class Invalid(ValueError):
    """``errors``: field (dotted path into the JSON body) → messages; the API answers 422."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


def raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise Invalid(errors)
