"""media/upload: temporary media ids, valid 3 days, checked when a message names them."""
from __future__ import annotations

import io

from tests.sandbox.conftest import api_calls


def upload(sim, kind: str = "image", data: bytes = b"\x89PNG fake image bytes", name: str = "a.png"):
    if not sim.token:
        sim.fetch_token()
    return sim.client.post("/cgi-bin/media/upload", query_string={"access_token": sim.token, "type": kind},
                           data={"media": (io.BytesIO(data), name)},
                           content_type="multipart/form-data").get_json()


def test_upload_returns_a_media_id_usable_for_three_days(world, sim, clock):
    reply = upload(sim)
    assert reply["errcode"] == 0 and reply["type"] == "image" and reply["media_id"]
    assert reply["created_at"] == str(int(clock.now))
    code = world.issue_welcome_code(*_pair(world))
    image = {"msgtype": "image", "image": {"media_id": reply["media_id"]}}
    assert sim.post("externalcontact/send_welcome_msg", {"welcome_code": code, "attachments": [image]})["errcode"] == 0
    assert api_calls(world, "media/upload")[-1]["errcode"] == 0

    clock.advance(3 * 86400 + 1)
    sim.fetch_token()
    code = world.issue_welcome_code(*_pair(world))
    reply = sim.post("externalcontact/send_welcome_msg", {"welcome_code": code, "attachments": [image]})
    assert reply["errcode"] == 40007
    # the code was not used up by the refused body
    assert world.welcome_codes[code].used_at is None


def test_unknown_media_and_bad_uploads_are_refused(world, sim):
    code = world.issue_welcome_code(*_pair(world))
    bogus = {"msgtype": "file", "file": {"media_id": "not-uploaded"}}
    reply = sim.post("externalcontact/send_welcome_msg", {"welcome_code": code, "attachments": [bogus]})
    assert reply["errcode"] == 40007
    assert upload(sim, kind="gif")["errcode"] == 40004
    assert upload(sim, data=b"abc")["errcode"] == 40006
    sim.fetch_token()
    reply = sim.client.post("/cgi-bin/media/upload", query_string={"access_token": sim.token, "type": "file"},
                            data={}, content_type="multipart/form-data").get_json()
    assert reply["errcode"] == 41006


def _pair(world) -> tuple[str, str]:
    staff = next(s for s in world.staff.values() if s.has_contact and s.relations)
    return staff.userid, next(iter(staff.relations))
