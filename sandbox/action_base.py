"""The plumbing of the sandbox's actions (sandbox/actions.py): the registry the ``@action``
methods join, the check of a request's parameters against an action's signature, and the
helpers every action uses (send the callbacks, look up a member, customer or group).
"""
from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from typing import Any

from sandbox import callbacks
from sandbox.callbacks import CallbackSender
from sandbox.model import Customer, GroupChat, Staff
from sandbox.world import World

_ACTIONS: dict[str, Callable[..., dict]] = {}


class ActionError(ValueError):
    """Bad input: ``errors`` maps a field name to a message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def action(fn: Callable[..., dict]) -> Callable[..., dict]:
    _ACTIONS[fn.__name__] = fn
    return fn


def _type_name(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint)


def _check(value: Any, hint: Any) -> bool:
    """Is a JSON value acceptable for the annotation (str, int, bool, list[str], X | None)?"""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return any(_check(value, arm) for arm in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if typing.get_origin(hint) is list:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


class ActionBase:
    def __init__(self, world: World, sender: CallbackSender | None = None):
        self.world = world
        self.sender = sender
        self.corp_id = world.config.corp_id

    # ---- plumbing -----------------------------------------------------------------------------

    @staticmethod
    def names() -> list[str]:
        return sorted(_ACTIONS)

    @staticmethod
    def describe() -> list[dict]:
        """Each action's parameters (for the sandbox page and the control API's index)."""
        out = []
        for name in sorted(_ACTIONS):
            fn = _ACTIONS[name]
            hints = typing.get_type_hints(fn)
            params = {p.name: {"type": _type_name(hints[p.name]),
                               "required": p.default is inspect.Parameter.empty,
                               **({} if p.default is inspect.Parameter.empty else {"default": p.default})}
                      for p in list(inspect.signature(fn).parameters.values())[1:]}
            out.append({"name": name, "doc": inspect.getdoc(fn), "params": params})
        return out

    def run(self, name: str, params: dict[str, Any]) -> dict:
        """Run an action by name. LookupError: no such action; ActionError: bad params."""
        fn = _ACTIONS.get(name)
        if fn is None:
            raise LookupError(f"no action {name!r}")
        if not isinstance(params, dict):
            raise ActionError({"_": "请求体必须是 JSON 对象"})
        hints = typing.get_type_hints(fn)
        signature = list(inspect.signature(fn).parameters.values())[1:]
        known = {p.name for p in signature}
        errors = {key: "未知字段" for key in params if key not in known}
        for p in signature:
            if p.name not in params:
                if p.default is inspect.Parameter.empty:
                    errors[p.name] = "必填"
            elif not _check(params[p.name], hints[p.name]):
                errors[p.name] = f"类型应为 {_type_name(hints[p.name])}"
        if errors:
            raise ActionError(errors)
        result = fn(self, **params)
        self.world.feed.add("action", name=name, params=params, result=result)
        return result

    def _emit(self, plaintexts: list[str], duplicate: bool = False) -> list[dict]:
        """Send the callbacks (outside the world lock); a short summary of each for the result."""
        summary = []
        for plaintext in plaintexts:
            fields = callbacks.parse_xml(plaintext)
            summary.append({"event": fields.get("Event") or fields.get("MsgType"),
                            "change_type": fields.get("ChangeType") or fields.get("UpdateDetail")})
            if self.sender is not None:
                self.sender.send(plaintext, duplicate=duplicate)
            else:
                self.world.feed.add("callback", ok=None, skipped="no callback URL configured",
                                    plaintext=plaintext, **summary[-1])
        return summary

    def _now(self) -> int:
        return int(self.world.now())

    def _staff(self, userid: str, field: str = "userid", *, contact: bool = True) -> Staff:
        staff = self.world.staff.get(userid)
        if staff is None:
            raise ActionError({field: f"没有成员 {userid}"})
        if not staff.active:
            raise ActionError({field: f"{staff.name}（{userid}）已离职"})
        if contact and not staff.has_contact:
            raise ActionError({field: f"{staff.name}（{userid}）未开通客户联系"})
        return staff

    def _customer(self, external_userid: str, field: str = "external_userid") -> Customer:
        customer = self.world.customers.get(external_userid)
        if customer is None:
            raise ActionError({field: f"没有客户 {external_userid}"})
        return customer

    def _group(self, chat_id: str) -> GroupChat:
        group = self.world.groups.get(chat_id)
        if group is None or group.dismissed:
            raise ActionError({"chat_id": f"没有客户群 {chat_id}（或已解散）"})
        return group
