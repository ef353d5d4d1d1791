"""The plaintext XML of a WeCom callback, before encryption: the one builder the simulator, the
tests and the benchmarks share.

``to_xml({"Event": "change_contact", "CreateTime": 1700000000, "Ids": ["a", "b"]})`` →
``<xml><Event><![CDATA[change_contact]]></Event><CreateTime>1700000000</CreateTime>
<Ids><Item><![CDATA[a]]></Item><Item><![CDATA[b]]></Item></Ids></xml>``: strings in CDATA,
numbers bare, lists as ``<Item>`` children, ``None`` left out, in the mapping's order. A ``]]>``
inside a value would end its CDATA section and let the rest be read as markup; it is split into
``]]]]><![CDATA[>`` (two adjacent sections that a parser joins back into the original text).

``event_xml`` and ``message_xml`` add the envelope of a self-built app's callbacks (ToUserName =
CorpID, FromUserName = ``sys`` for events or the member for messages, CreateTime, MsgType).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

FieldValue = str | int | float | Sequence[str] | None


def cdata(text: str) -> str:
    """``text`` as CDATA that no value can break out of."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def element(name: str, value: FieldValue) -> str:
    if isinstance(value, str):
        return f"<{name}>{cdata(value)}</{name}>"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"<{name}>{value}</{name}>"
    if isinstance(value, (list, tuple)):
        return f"<{name}>" + "".join(f"<Item>{cdata(str(item))}</Item>" for item in value) + f"</{name}>"
    raise TypeError(f"{name}: cannot put a {type(value).__name__} in callback XML")


def to_xml(fields: Mapping[str, FieldValue]) -> str:
    """``<xml>`` with one element per field (``None`` values left out)."""
    return "<xml>" + "".join(element(name, value) for name, value in fields.items() if value is not None) + "</xml>"


def event_xml(corp_id: str, event: str, change_type: str | None = None, *, create_time: int,
              from_user: str = "sys", **fields: FieldValue) -> str:
    """An event (客户联系/通讯录 changes come from ``sys``; app events from the member)."""
    return to_xml({"ToUserName": corp_id, "FromUserName": from_user, "CreateTime": create_time,
                   "MsgType": "event", "Event": event, "ChangeType": change_type or None, **fields})


def message_xml(corp_id: str, msg_type: str, *, from_user: str, msg_id: int, agent_id: int,
                create_time: int, **fields: FieldValue) -> str:
    """A member's message to the app (text: Content; image: PicUrl, MediaId; …)."""
    return to_xml({"ToUserName": corp_id, "FromUserName": from_user, "CreateTime": create_time,
                   "MsgType": msg_type, **fields, "MsgId": msg_id, "AgentID": agent_id})
