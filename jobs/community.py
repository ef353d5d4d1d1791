"""Community jobs: thin wrappers, one service call each."""
from __future__ import annotations

from scrm.services.community import code_rooms


def recheck_group_code(corp_id: str, code_id: int) -> int:
    """Re-read a group code's join way for rooms WeCom auto-created (scheduled by the group
    event handler when the code was re-read less than a minute before)."""
    return code_rooms.recheck(corp_id, code_id)
