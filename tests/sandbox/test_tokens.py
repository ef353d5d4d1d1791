"""Access tokens (docs/wecom/api.md#access-token): credentials checked, tokens expire, the service refreshes."""
from __future__ import annotations

from sandbox.app import create_simulator_app
from scrm.sandbox_corp import SANDBOX_CORP_ID, SANDBOX_SECRET
from scrm.wecom import WeComClient
from tests.sandbox.conftest import api_calls, make_world


def test_gettoken_checks_corp_and_secret(sim):
    client = sim.client
    def token(**params):
        return client.get("/cgi-bin/gettoken", query_string=params).get_json()

    assert token(corpid="wwother", corpsecret=SANDBOX_SECRET)["errcode"] == 40013
    assert token(corpid=SANDBOX_CORP_ID, corpsecret="wrong")["errcode"] == 40001
    assert token(corpsecret=SANDBOX_SECRET)["errcode"] == 41002
    good = token(corpid=SANDBOX_CORP_ID, corpsecret=SANDBOX_SECRET)
    assert good["errcode"] == 0 and good["expires_in"] == 7200 and len(good["access_token"]) <= 512
    # Within its validity the same token comes back (concurrent refreshes don't invalidate it).
    assert token(corpid=SANDBOX_CORP_ID, corpsecret=SANDBOX_SECRET)["access_token"] == good["access_token"]


def test_token_errors(sim):
    assert sim.client.get("/cgi-bin/user/get?userid=x").get_json()["errcode"] == 41001
    assert sim.client.get("/cgi-bin/user/get?userid=x&access_token=forged").get_json()["errcode"] == 40014


def test_a_token_expires_after_its_ttl(clock):
    world = make_world(clock, token_ttl=600)
    sim_client = create_simulator_app(world).test_client()
    token = sim_client.get("/cgi-bin/gettoken", query_string={
        "corpid": SANDBOX_CORP_ID, "corpsecret": SANDBOX_SECRET}).get_json()
    assert token["expires_in"] == 600

    def follow_users():
        return sim_client.get("/cgi-bin/externalcontact/get_follow_user_list",
                              query_string={"access_token": token["access_token"]}).get_json()

    clock.advance(599)
    assert follow_users()["errcode"] == 0
    clock.advance(1)
    assert follow_users()["errcode"] == 42001


def test_expire_all_tokens_now_through_the_control_api(sim):
    assert sim.get("externalcontact/get_follow_user_list")["errcode"] == 0
    assert sim.client.post("/sandbox/api/tokens/expire").get_json() == {"expired": 1}
    assert sim.get("externalcontact/get_follow_user_list")["errcode"] == 42001
    sim.fetch_token()
    assert sim.get("externalcontact/get_follow_user_list")["errcode"] == 0


def test_the_services_client_refreshes_once_and_retries_once(world, serve, redis_client):
    base = serve(create_simulator_app(world))
    client = WeComClient(SANDBOX_CORP_ID, SANDBOX_SECRET, redis=redis_client,
                         api_base_url=base + "/cgi-bin/", timeout=5)
    first = client.get_follow_user_list()["follow_user"]
    assert first == [s.userid for s in world.staff.values() if s.has_contact]

    with world.lock:
        world.expire_tokens()
    assert client.get_follow_user_list()["follow_user"] == first

    calls = [(c["path"], c["errcode"]) for c in api_calls(world)]
    assert calls == [("gettoken", 0), ("externalcontact/get_follow_user_list", 0),
                     ("externalcontact/get_follow_user_list", 42001), ("gettoken", 0),
                     ("externalcontact/get_follow_user_list", 0)]
