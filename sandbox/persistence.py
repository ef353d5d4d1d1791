"""The simulated corp kept across restarts: a JSON snapshot of the world in one file.

`make run` keeps the service's data (the database under instance/), so the simulator keeps its
corp too, or the two would disagree after a restart (customers the service knows that WeCom has
never heard of). ``python -m sandbox --state-file FILE`` loads FILE at start (instead of seeding)
when it exists, saves it a few seconds after the world changed (``Autosaver``) and when the
simulator stops.

Kept: the corp's records (departments, staff, customers, follow relations, the tag library,
groups and members), transfers, 「联系我」 codes, group codes (加入群聊), group welcome templates,
mass sends and the
monthly quota counts, uploaded media, access tokens and JS-SDK tickets (the service's cached
token stays valid), the chat archive, the clock's 时间快进 offset and the id generator's state.
Not kept, like WeCom's own short-lived state:
welcome codes (20 s), OAuth codes (5 min), rate-limit windows, the 84061 window, the event feed.

Writes are atomic (a temporary file in the same directory, fsynced, then renamed over the old one).
"""
from __future__ import annotations

import itertools
import json
import os
import threading
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from sandbox.model import (
    ContactWay,
    Customer,
    Department,
    GroupChat,
    MassSend,
    MassTask,
    Member,
    Relation,
    Staff,
    Tag,
    TagGroup,
    Transfer,
)
from sandbox.world import World

FORMAT = 1  # bump when the layout changes; an unknown format is not loaded


def _plain(record: Any, *skip: str) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in fields(record) if f.name not in skip}


def snapshot(world: World, seeded_with: dict[str, int] | None = None) -> dict[str, Any]:
    """The world as JSON-able data (taken under the world's lock)."""
    with world.lock:
        relations = sorted((rel for staff in world.staff.values() for rel in staff.relations.values()),
                           key=lambda rel: rel.seq)
        return {
            "format": FORMAT, "saved_at": round(world.now(), 3), "seeded_with": seeded_with or {},
            "corp_id": world.config.corp_id,
            "departments": [_plain(d) for d in world.departments.values()],
            "staff": [_plain(s, "relations") for s in world.staff.values()],
            "customers": [_plain(c, "relations") for c in world.customers.values()],
            "relations": [_plain(r) for r in relations],
            "tag_groups": [_plain(g, "tags") for g in world.tag_groups.values()],
            "tags": [_plain(t) for g in world.tag_groups.values() for t in g.tags.values()],
            "groups": [{**_plain(g, "members"), "members": [_plain(m) for m in g.members.values()]}
                       for g in world.groups.values()],
            "transfers": [_plain(t) for t in world.transfers.values()],
            "contact_ways": [_plain(w) for w in world.contact_ways.values()],
            "group_welcome_templates": world.group_welcome_templates,
            "join_ways": world.join_ways,
            "mass_sends": [{**_plain(m, "tasks"), "tasks": [_plain(t) for t in m.tasks.values()]}
                           for m in world.mass_sends.values()],
            "mass_send_received": {target: [list(month), count]
                                   for target, (month, count) in world._received.items()},
            "media": {media_id: list(item) for media_id, item in world.media.items()},
            "message_hashes": world.message_hashes,
            "tokens": world._tokens,
            "tickets": {kind: list(item) for kind, item in world._tickets.items()},
            "transfer_log": world._transfer_log,
            "clock_offset": world.clock_offset,
            "chat_archive": world.chat_archive.messages,
            "rng": _rng_state(world),
        }


def _rng_state(world: World) -> list:
    version, state, gauss = world.rng.getstate()
    return [version, list(state), gauss]


def restore(world: World, data: dict[str, Any]) -> World:
    """Fill an empty ``world`` from ``snapshot()`` data (ValueError if it is not one)."""
    if data.get("format") != FORMAT:
        raise ValueError(f"unknown snapshot format {data.get('format')!r}")
    if data.get("corp_id") != world.config.corp_id:
        raise ValueError(f"the snapshot is of corp {data.get('corp_id')}, not {world.config.corp_id}")
    with world.lock:
        if world.staff or world.customers:
            raise RuntimeError("restore() fills an empty world")
        world.departments = {d["id"]: Department(**d) for d in data["departments"]}
        world.staff = {s["userid"]: Staff(**s) for s in data["staff"]}
        world.customers = {c["external_userid"]: Customer(**c) for c in data["customers"]}
        for row in data["relations"]:
            relation = Relation(**{**row, "remark_mobiles": tuple(row["remark_mobiles"]),
                                   "tag_ids": tuple(row["tag_ids"])})
            world.staff[relation.userid].relations[relation.external_userid] = relation
            world.customers[relation.external_userid].relations.append(relation)
        world.tag_groups = {g["group_id"]: TagGroup(**g) for g in data["tag_groups"]}
        world.tags = {}
        for row in data["tags"]:
            tag = Tag(**row)
            world.tag_groups[tag.group_id].tags[tag.id] = tag
            world.tags[tag.id] = tag
        world.groups = {}
        for row in data["groups"]:
            group = GroupChat(**{**row, "members": {m["userid"]: Member(**m) for m in row["members"]}})
            world.groups[group.chat_id] = group
        world.transfers = {(t["handover_userid"], t["external_userid"]): Transfer(**t) for t in data["transfers"]}
        world.contact_ways = {w["config_id"]: ContactWay(**w) for w in data["contact_ways"]}
        world.group_welcome_templates = dict(data["group_welcome_templates"])
        world.join_ways = dict(data.get("join_ways") or {})  # absent in snapshots saved before group codes
        world.mass_sends = {}
        for row in data["mass_sends"]:
            msg = MassSend(**{**row, "tasks": {t["userid"]: MassTask(**t) for t in row["tasks"]}})
            world.mass_sends[msg.msgid] = msg
        world._received = {target: (tuple(month), count)
                           for target, (month, count) in data["mass_send_received"].items()}
        world.media = {media_id: tuple(item) for media_id, item in data["media"].items()}
        world.message_hashes = dict(data["message_hashes"])
        world._tokens = dict(data["tokens"])
        world._tickets = {kind: tuple(item) for kind, item in data["tickets"].items()}
        world._transfer_log = {key: list(value) for key, value in data["transfer_log"].items()}
        # Absent in snapshots saved before 时间快进 and the chat archive.
        world.clock_offset = int(data.get("clock_offset") or 0)
        world.chat_archive.restore(data.get("chat_archive") or [])
        version, state, gauss = data["rng"]
        world.rng.setstate((version, tuple(state), gauss))
        seqs = [r.seq for s in world.staff.values() for r in s.relations.values()]
        world._seq = itertools.count(max([0, *seqs, *(g.seq for g in world.groups.values())]) + 1)
    return world


def save(world: World, path: Path, seeded_with: dict[str, int] | None = None) -> None:
    """Write the snapshot atomically: readers (and a crash) see the old file or the new one."""
    data = json.dumps(snapshot(world, seeded_with), ensure_ascii=False, separators=(",", ":"))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load(world: World, path: Path) -> dict[str, Any]:
    """Fill the empty ``world`` from ``path``; the snapshot's ``seeded_with`` (OSError, ValueError)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("not a world snapshot")
    try:
        restore(world, data)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a world snapshot ({type(exc).__name__}: {exc})") from None
    return dict(data.get("seeded_with") or {})


class Autosaver:
    """Saves the world to ``path`` at most every ``every`` seconds while it changes (the feed
    records every API call and action, so a new feed entry means it may have changed), and once
    more on ``stop()``."""

    def __init__(self, world: World, path: Path, seeded_with: dict[str, int], every: float = 3.0):
        self.world, self.path, self.seeded_with, self.every = world, path, seeded_with, every
        self._saved_feed_id = world.feed.last_id
        self._stop = threading.Event()
        self._save_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="sandbox-autosave", daemon=True)

    def start(self) -> Autosaver:
        self._thread.start()
        return self

    def save_now(self) -> None:
        with self._save_lock:
            feed_id = self.world.feed.last_id
            save(self.world, self.path, self.seeded_with)
            self._saved_feed_id = feed_id

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            if self.world.feed.last_id != self._saved_feed_id:
                try:
                    self.save_now()
                except OSError as exc:  # disk full, directory gone: say so, keep serving
                    print(f"[sandbox] could not save the world to {self.path}: {exc}", flush=True)
                    time.sleep(self.every)

    def stop(self) -> None:
        self._stop.set()
        self.save_now()
