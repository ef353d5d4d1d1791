"""Stage "staff": departments (department/list) and the members visible to the app (user/list
of each top department, fetch_child=1), upserted with the `change_contact` handlers' field
mapping. WeCom leaves out fields some apps may not see (newer apps get no names): those keep
what we had.

Nothing is marked gone here: a member or department missing from the lists may just be outside
the app's visibility, which the lists cannot tell from a departure (delete_user callbacks can).
"""
from __future__ import annotations

from scrm.clock import utcnow
from scrm.db import ensure_rows
from scrm.models import Department, Staff
from scrm.services.events.contacts import DEPARTMENT_FIELDS, STAFF_FIELDS, apply_fields
from scrm.services.sync.engine import Syncer, batches, newer_than
from scrm.wecom import PermanentWeComError

STAGE = "staff"
WRITE_BATCH = 500


def run(sync: Syncer) -> None:
    sync.begin_stage(STAGE)
    progress = sync.progress(STAGE)
    done_roots: list[int] = sync.checkpoint(STAGE).setdefault("roots_done", [])
    client = sync.client()
    fetched_at = utcnow()
    try:
        departments = sync.call(client.list_departments).get("department") or []
    except PermanentWeComError as exc:
        sync.error(STAGE, exc.api, exc.errcode, exc.errmsg)
        departments = []
    ids = {dept["id"] for dept in departments if isinstance(dept.get("id"), int)}
    rows, created = ensure_rows(Department, sync.corp_id, ("dept_id",), [(dept_id,) for dept_id in ids])
    for dept in departments:
        row = rows.get((dept.get("id"),))
        if row is not None and not newer_than(row, (row.dept_id,) in created, fetched_at):
            apply_fields(row, dept, DEPARTMENT_FIELDS, api=True)
            row.deleted_at = None  # listed, so it exists
    sync.commit()
    # The top departments the app sees (their parent is not visible); user/list takes subtrees.
    roots = sorted(dept["id"] for dept in departments if dept.get("id") in ids and dept.get("parentid") not in ids)
    seen: set[str] = set()
    for root in roots:
        if root in done_roots:
            continue
        fetched_at = utcnow()
        try:
            users = sync.call(client.list_users, root, fetch_child=1).get("userlist") or []
        except PermanentWeComError as exc:
            sync.error(STAGE, exc.api, exc.errcode, exc.errmsg, item=f"department {root}")
            users = []
        users = [user for user in users if user.get("userid") and user["userid"] not in seen]
        seen.update(user["userid"] for user in users)
        progress["total"] = (progress.get("total") or 0) + len(users)
        for batch in batches(users, WRITE_BATCH):
            _apply_users(sync, batch, fetched_at)
            progress["done"] += len(batch)
            sync.commit()
        done_roots.append(root)
        sync.commit()
    sync.end_stage(STAGE)


def _apply_users(sync: Syncer, users: list[dict], fetched_at) -> None:
    rows, created = ensure_rows(Staff, sync.corp_id, ("userid",), [(user["userid"],) for user in users])
    for user in users:
        row = rows[(user["userid"],)]
        if newer_than(row, (row.userid,) in created, fetched_at):
            continue
        apply_fields(row, user, STAFF_FIELDS, api=True)
        row.left_at = None  # listed, so a member now (a userid can be reused after a departure)
