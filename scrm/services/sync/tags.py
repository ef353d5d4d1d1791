"""Stage "tags": the corp tag library (get_corp_tag_list, one call), upserted by the
`change_external_tag` handlers' code. A full sync also deletes the groups and tags the library
no longer lists (taking them off customers, with timeline entries), since that one reply is the
whole library; rows changed by a callback after the reply was fetched are left alone.
Rule-group (策略) tags are not read: get_strategy_tag_list needs the 客户联系 secret.
"""
from __future__ import annotations

from scrm.clock import utcnow
from scrm.services.events.tags import apply_tag_groups, apply_tag_library
from scrm.services.sync.engine import Syncer
from scrm.wecom import PermanentWeComError

STAGE = "tags"


def run(sync: Syncer) -> None:
    sync.begin_stage(STAGE)
    progress = sync.progress(STAGE)
    fetched_at = utcnow()
    try:
        groups = sync.call(sync.client().get_corp_tag_list).get("tag_group") or []
    except PermanentWeComError as exc:
        sync.error(STAGE, exc.api, exc.errcode, exc.errmsg)
        sync.end_stage(STAGE)
        return
    ctx = sync.context(STAGE, fetched_at)
    if sync.full:
        apply_tag_library(ctx, groups, None, fetched_at=fetched_at)
    else:
        apply_tag_groups(ctx, groups, None, whole_groups=False, fetched_at=fetched_at)
    count = sum(len(group.get("tag") or []) for group in groups)
    progress.update(done=count, total=count)
    sync.end_stage(STAGE)
