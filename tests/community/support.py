"""Shared by the community tests: an Open API caller, WeCom replies as docs/wecom/api.md shows them."""
from __future__ import annotations

import io
from datetime import datetime

import responses

from tests.welcome.support import OK, bodies, url

__all__ = ["OK", "bodies", "url", "upload_image", "join_way_reply"]

ADD_TEMPLATE = "externalcontact/group_welcome_template/add"
EDIT_TEMPLATE = "externalcontact/group_welcome_template/edit"
GET_TEMPLATE = "externalcontact/group_welcome_template/get"
DEL_TEMPLATE = "externalcontact/group_welcome_template/del"
ADD_WAY = "externalcontact/groupchat/add_join_way"
GET_WAY = "externalcontact/groupchat/get_join_way"
UPDATE_WAY = "externalcontact/groupchat/update_join_way"
DEL_WAY = "externalcontact/groupchat/del_join_way"
GROUP_GET = "externalcontact/groupchat/get"


def upload_image(api, wecom, media_id: str = "MEDIA1") -> int:
    wecom.add(responses.POST, url("media/upload"), json={**OK, "type": "image", "media_id": media_id,
                                                        "created_at": str(int(datetime.now().timestamp()))})
    reply = api("POST", "/media", data={"kind": "image", "file": (io.BytesIO(b"\x89PNG image"), "poster.png")},
                content_type="multipart/form-data")
    assert reply.status_code == 201, reply.json
    return reply.json["id"]


def join_way_reply(config_id: str, chat_ids: list[str], *, state: str = "gc1", room_base_id: int = 1) -> dict:
    """get_join_way as WeCom answers it (doc 92229)."""
    return {**OK, "join_way": {"config_id": config_id, "scene": 2, "remark": "", "auto_create_room": 1,
                               "room_base_name": "福利群", "room_base_id": room_base_id,
                               "chat_id_list": chat_ids, "qr_code": f"https://wework.qpic.cn/wwpic/{config_id}/0",
                               "state": state}}
