"""WeComClient: wechatpy 1.8.18's enterprise WeChatClient with the fixes it needs (docs/wecom-client.md).

What we change in wechatpy's behaviour, and why:
* gettoken honours ``api_base_url`` (wechatpy hard-codes https://qyapi.weixin.qq.com) and gets the
  timeout (wechatpy sends it with none).
* The access token lives in Redis for every process, under a key derived from corp id + a hash of
  the secret (wechatpy uses the first 10 characters of the secret), refreshed under a Redis lock;
  each process keeps a copy for up to a minute (never past the Redis key's expiry), dropped as
  soon as WeCom rejects it, so a call reads no Redis for its token.
* Exactly one refresh-and-retry on token errors (wechatpy's ``auto_retry`` recurses without bound).
* Every failure becomes a WeComError split into retryable / permanent (see errors.py).
* With a ``rate_limiter`` (ratelimit.py), every API call first books room in the corp's per-API
  budget shared by all processes through Redis.
* Every HTTP exchange is counted per corp, API and minute, failures per errcode (callstats.py),
  for `flask scrm status` and /metrics; a booked call is counted by the booking's own script, so
  a successful call costs one Redis round trip in all.
"""
from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

import redis as redis_lib
import requests
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

from . import callstats
from .errors import WeComError
from .ratelimit import RateLimiter
from .retry import error_for, transport_retryable
from .shared_cache import SharedCache

DEFAULT_API_BASE_URL = "https://qyapi.weixin.qq.com/cgi-bin/"

logger = logging.getLogger("scrm.wecom")

CACHE_PREFIX = "scrm:wecom"  # Redis namespace for tokens, tickets and their locks
# 40014/42001: invalid/expired token. 40001 means "bad secret" from gettoken (never retried: gettoken
# doesn't go through _request) but "bad credential" from any other API, i.e. a token WeCom dropped.
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
TOKEN_TTL_MARGIN = 300  # s; forget the token a bit before WeCom expires it
TICKET_TTL = 7000       # s; jsapi tickets live 7200 s and are rate-limited (100/h per app)

# Never let a secret or token reach a log or an exception message (requests puts the URL in both).
_CREDENTIAL_IN_URL = re.compile(r"(access_token|corpsecret)=[^&\s'\")]+")


def _redact(text: str) -> str:
    return _CREDENTIAL_IN_URL.sub(r"\1=***", text)


def _compact(body: dict[str, Any]) -> dict[str, Any]:
    """Drop None fields: WeCom treats an absent field and a null one differently."""
    return {key: value for key, value in body.items() if value is not None}


def _api_path(url_or_endpoint: str) -> str:
    """"externalcontact/get" for an endpoint or a full URL (the rate limiter's key)."""
    path = url_or_endpoint.split("?", 1)[0]
    if "://" in path:
        path = path.split("/cgi-bin/", 1)[-1]
    return path.strip("/")


def _owner_filter(userids: Iterable[str] | None) -> dict | None:
    return {"userid_list": list(userids)} if userids is not None else None


class WeComClient(WeChatClient):
    """One WeCom app (corp id + app secret). All calls return the reply dict with errcode 0."""

    def __init__(self, corp_id: str, secret: str, *, redis: redis_lib.Redis,
                 api_base_url: str = DEFAULT_API_BASE_URL, timeout: float = 10.0,
                 agent_id: int | None = None, rate_limiter: RateLimiter | None = None) -> None:
        if not timeout or timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds (requests would wait forever)")
        # An instance attribute overrides WeChatClient.API_BASE_URL for every relative endpoint,
        # including wechatpy's own API objects (client.jsapi, client.user, ...).
        self.API_BASE_URL = api_base_url.rstrip("/") + "/"
        self.agent_id = agent_id
        self.rate_limiter = rate_limiter
        self._redis = redis
        self._app_key = f"{corp_id}:{hashlib.sha256(secret.encode()).hexdigest()[:16]}"
        super().__init__(corp_id, secret, session=RedisStorage(redis, prefix=CACHE_PREFIX),
                         timeout=timeout, auto_retry=False)
        self._cache = SharedCache(self.session)
        # requests re-reads proxy and CA settings from the environment on every call (a scan of
        # os.environ, a measurable share of a welcome job); this client only talks to one host,
        # so resolve them once, exactly as requests would, and keep them.
        settings = self._http.merge_environment_settings(self.API_BASE_URL, {}, None, None, None)
        self._http.trust_env = False
        self._http.proxies.update(settings["proxies"] or {})
        self._http.verify = settings["verify"]

    # ---- plumbing ---------------------------------------------------------------------------

    @property
    def access_token_key(self) -> str:
        return f"{self._app_key}:access_token"

    @property
    def access_token(self) -> str:
        """The shared token (wechatpy's hook; its version refreshes per process)."""
        return self._token()

    def fetch_access_token(self) -> dict:
        """Call gettoken (no caching). wechatpy's hook, fixed to use api_base_url and the timeout.

        The params are a list, not a dict, so wechatpy's _request doesn't add an access_token.
        """
        return self._send("get", "gettoken", params=[("corpid", self.corp_id), ("corpsecret", self.secret)])

    def _token(self, stale: str | None = None) -> str:
        def fetch() -> tuple[str, int]:
            reply = self.fetch_access_token()
            return reply["access_token"], max(int(reply.get("expires_in", 7200)) - TOKEN_TTL_MARGIN, 60)
        return self._cached(self.access_token_key, fetch, api="gettoken", stale=stale)

    def _cached(self, key: str, fetch: Callable[[], tuple[str, int]], *, api: str,
                stale: str | None = None) -> str:
        """The value under ``key`` (shared_cache.py), ``fetch()``ed when missing or ``stale``."""
        wait = 3 * self.timeout + 5  # longer than one fetch can take (connect + read timeouts)
        return self._cache.get(key, fetch, api=api, wait=wait, stale=stale)

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        """Every API call (ours and wechatpy's API objects) goes through here: the shared token
        (this process's copy), a booking in the corp's budget that also counts the call (one
        Redis round trip), and exactly one refresh-and-retry if WeCom rejects the token."""
        params = dict(kwargs.pop("params", None) or {})
        api = _api_path(url_or_endpoint)
        token = self._token()  # first: a gettoken that fails leaves nothing booked or counted
        counted = self.rate_limiter is not None
        if counted:
            self.rate_limiter.acquire(api, tally=callstats.tally(self.corp_id, api))
        try:
            return self._send(method, url_or_endpoint, params={**params, "access_token": token},
                              counted=counted, **kwargs)
        except WeComError as exc:
            if exc.errcode not in TOKEN_ERRCODES:
                raise
        token = self._token(stale=token)
        return self._send(method, url_or_endpoint, params={**params, "access_token": token}, **kwargs)

    def _send(self, method: str, endpoint: str, *, counted: bool = False, **kwargs: Any) -> Any:
        """One HTTP exchange via wechatpy (URL, JSON body, timeout, errcode check), errors mapped;
        recorded in callstats (``counted``: the booking already counted it, only a failure is)."""
        processor = kwargs.pop("result_processor", None)  # applied after our dict check
        started = time.monotonic()
        reply: Any = None
        error: WeComError | None = None
        try:
            reply = super()._request(method, endpoint, **kwargs)
        except WeChatClientException as exc:  # errcode != 0 (auto_retry is off) or HTTP error status
            if exc.errcode is not None:
                error = error_for(endpoint, int(exc.errcode), str(exc.errmsg))
            else:
                status = exc.response.status_code if exc.response is not None else None
                error = error_for(endpoint, None, f"HTTP {status}",
                                  retryable=transport_retryable(status))
        except requests.RequestException as exc:
            # Connection errors/timeouts are transient; ValueError subclasses (bad URL/header) are config.
            error = error_for(endpoint, None, f"{type(exc).__name__}: {_redact(str(exc))}",
                              retryable=not isinstance(exc, ValueError))
        else:
            if not isinstance(reply, dict):  # wechatpy hands back the raw Response for non-JSON bodies
                error = error_for(endpoint, None, "invalid JSON reply", retryable=True)
        elapsed_ms = (time.monotonic() - started) * 1000
        callstats.record(self._redis, self.corp_id, _api_path(endpoint), failed=error is not None,
                         errcode=error.errcode if error is not None else None, counted=counted)
        if error is None:
            # DEBUG: a sync makes thousands of calls; a failed call is a WARNING below.
            logger.debug("wecom %s errcode=%s %.0fms", endpoint, reply.get("errcode", 0), elapsed_ms)
            return processor(reply) if processor else reply
        logger.warning("wecom %s errcode=%s %.0fms %s", endpoint, error.errcode, elapsed_ms, error.errmsg)
        raise error from None  # the chained requests exception would carry the URL (token, secret)

    def call(self, method: str, path: str, params: dict | None = None, json: dict | None = None,
             timeout: float | None = None) -> dict:
        """Any API: ``path`` is relative to api_base_url, ``json`` the request body; ``timeout``
        overrides the client's for this call (e.g. a lookup that must not eat a 20 s window)."""
        extra = {"timeout": timeout} if timeout else {}
        return self._request(method.lower(), path, params=params, data=json, **extra)

    def _post_json(self, path: str, body: dict) -> dict:
        return self.call("POST", path, json=_compact(body))

    # ---- customers ------------------------------------------------------------------

    def get_external_contact(self, external_userid: str, cursor: str | None = None,
                             timeout: float | None = None) -> dict:
        return self.call("GET", "externalcontact/get",
                         params=_compact({"external_userid": external_userid, "cursor": cursor}),
                         timeout=timeout)

    def batch_get_by_user(self, userid_list: Iterable[str], cursor: str = "", limit: int = 100) -> dict:
        return self._post_json("externalcontact/batch/get_by_user",
                          {"userid_list": list(userid_list), "cursor": cursor, "limit": limit})

    def get_follow_user_list(self) -> dict:
        return self.call("GET", "externalcontact/get_follow_user_list")

    def remark(self, userid: str, external_userid: str, *, remark: str | None = None,
               description: str | None = None, remark_company: str | None = None,
               remark_mobiles: list[str] | None = None, remark_pic_mediaid: str | None = None) -> dict:
        fields = _compact({"remark": remark, "description": description, "remark_company": remark_company,
                           "remark_mobiles": remark_mobiles, "remark_pic_mediaid": remark_pic_mediaid})
        if not fields:
            raise ValueError("remark() needs at least one field to change")
        return self._post_json("externalcontact/remark",
                               {"userid": userid, "external_userid": external_userid, **fields})

    # ---- corp tags ----------------------------------------------------------------------------

    def get_corp_tag_list(self, tag_ids: Iterable[str] | None = None, group_ids: Iterable[str] | None = None) -> dict:
        return self._post_json("externalcontact/get_corp_tag_list", {
            "tag_id": list(tag_ids) if tag_ids is not None else None,
            "group_id": list(group_ids) if group_ids is not None else None})

    def add_corp_tag(self, tags: Iterable[dict], group_id: str | None = None, group_name: str | None = None,
                     order: int | None = None) -> dict:
        """Create tags in a group (by id), or a group (by name; an existing name gets the tags)."""
        return self._post_json("externalcontact/add_corp_tag", {
            "group_id": group_id, "group_name": group_name, "order": order, "tag": list(tags)})

    def edit_corp_tag(self, item_id: str, name: str | None = None, order: int | None = None) -> dict:
        """Rename or reorder a tag or a tag group (the id says which)."""
        return self._post_json("externalcontact/edit_corp_tag", {"id": item_id, "name": name, "order": order})

    def del_corp_tag(self, tag_ids: Iterable[str] | None = None, group_ids: Iterable[str] | None = None) -> dict:
        return self._post_json("externalcontact/del_corp_tag", {
            "tag_id": list(tag_ids) if tag_ids is not None else None,
            "group_id": list(group_ids) if group_ids is not None else None})

    def get_strategy_tag_list(self, strategy_id: int | None = None, tag_ids: Iterable[str] | None = None,
                              group_ids: Iterable[str] | None = None) -> dict:
        return self._post_json("externalcontact/get_strategy_tag_list", {
            "strategy_id": strategy_id,
            "tag_id": list(tag_ids) if tag_ids is not None else None,
            "group_id": list(group_ids) if group_ids is not None else None})

    def mark_tag(self, userid: str, external_userid: str, add_tag: Iterable[str] = (),
                 remove_tag: Iterable[str] = ()) -> dict:
        return self._post_json("externalcontact/mark_tag", {"userid": userid, "external_userid": external_userid,
                                                       "add_tag": list(add_tag), "remove_tag": list(remove_tag)})

    # ---- customer groups ----------------------------------------------------------------

    def groupchat_list(self, status_filter: int = 0, owner_userids: Iterable[str] | None = None,
                       cursor: str | None = None, limit: int = 1000) -> dict:
        return self._post_json("externalcontact/groupchat/list", {
            "status_filter": status_filter, "owner_filter": _owner_filter(owner_userids),
            "cursor": cursor, "limit": limit})

    def groupchat_get(self, chat_id: str, need_name: int = 1) -> dict:
        return self._post_json("externalcontact/groupchat/get", {"chat_id": chat_id, "need_name": need_name})

    # ---- community: group welcome templates and group codes (docs/wecom/api.md#group-welcome-templates,
    # docs/wecom/api.md#group-codes) -------------------------------------------------------------

    def group_welcome_template(self, op: str, body: dict) -> dict:
        """``op``: add (→ template_id) | edit | get | del; ``body`` as WeCom takes it."""
        if op not in ("add", "edit", "get", "del"):
            raise ValueError(f"unknown group_welcome_template operation {op!r}")
        return self._post_json(f"externalcontact/group_welcome_template/{op}", body)

    def join_way(self, op: str, body: dict) -> dict:
        """``op``: add (→ config_id) | get (→ join_way{…, qr_code}) | update | del."""
        if op not in ("add", "get", "update", "del"):
            raise ValueError(f"unknown join_way operation {op!r}")
        return self._post_json(f"externalcontact/groupchat/{op}_join_way", body)

    # ---- welcome messages ---------------------------------------------------------------

    def send_welcome_msg(self, welcome_code: str, text: str | None = None,
                         attachments: list[dict] | None = None) -> dict:
        return self._post_json("externalcontact/send_welcome_msg", {
            "welcome_code": welcome_code,
            "text": {"content": text} if text is not None else None,
            "attachments": attachments})

    # ---- mass messages ------------------------------------------------------------------

    def add_msg_template(self, payload: dict) -> dict:
        return self._post_json("externalcontact/add_msg_template", payload)

    def get_groupmsg_task(self, msgid: str, limit: int = 1000, cursor: str | None = None) -> dict:
        return self._post_json("externalcontact/get_groupmsg_task", {"msgid": msgid, "limit": limit, "cursor": cursor})

    def get_groupmsg_send_result(self, msgid: str, userid: str, limit: int = 1000,
                                 cursor: str | None = None) -> dict:
        return self._post_json("externalcontact/get_groupmsg_send_result",
                          {"msgid": msgid, "userid": userid, "limit": limit, "cursor": cursor})

    # ---- 「联系我」 contact ways ----------------------------------------------------------------

    def add_contact_way(self, payload: dict) -> dict:
        return self._post_json("externalcontact/add_contact_way", payload)

    def update_contact_way(self, payload: dict) -> dict:
        return self._post_json("externalcontact/update_contact_way", payload)

    def del_contact_way(self, config_id: str) -> dict:
        return self._post_json("externalcontact/del_contact_way", {"config_id": config_id})

    # ---- media ---------------------------------------------------------------------------------

    def upload_media(self, kind: str, filename: str, data: bytes, content_type: str | None = None) -> dict:
        """Temporary media (valid 3 days): ``POST media/upload?type=image|voice|video|file``,
        multipart field ``media``. Returns ``{"type", "media_id", "created_at"}``."""
        if kind not in ("image", "voice", "video", "file"):
            raise ValueError(f"unknown media type {kind!r}")
        media = (filename, data, content_type) if content_type else (filename, data)
        return self._request("post", "media/upload", params={"type": kind}, files={"media": media})

    # ---- staff, OAuth, app messages ----------------------------------------------------------

    def auth_getuserinfo(self, code: str) -> dict:
        """Current OAuth endpoint (wechatpy calls the legacy user/getuserinfo)."""
        return self.call("GET", "auth/getuserinfo", params={"code": code})

    def list_departments(self, department_id: int | None = None) -> dict:
        return self.call("GET", "department/list", params=_compact({"id": department_id}))

    def list_users(self, department_id: int, fetch_child: int = 1) -> dict:
        return self.call("GET", "user/list", params={"department_id": department_id, "fetch_child": fetch_child})

    def send_app_message(self, touser: str | Iterable[str], msgtype: str, content: dict, *,
                         enable_duplicate_check: int = 0, duplicate_check_interval: int = 1800) -> dict:
        """``touser``: "a|b", "@all" or a list of userids; ``content`` is the body under ``msgtype``."""
        if self.agent_id is None:
            raise ValueError("send_app_message() needs WeComClient(agent_id=...)")
        return self._post_json("message/send", {
            "touser": touser if isinstance(touser, str) else "|".join(touser),
            "msgtype": msgtype, "agentid": self.agent_id, msgtype: content,
            "enable_duplicate_check": enable_duplicate_check,
            "duplicate_check_interval": duplicate_check_interval})

    # ---- JS-SDK ----------------------------------------------------------------------

    @staticmethod
    def _ticket(reply: dict) -> tuple[str, int]:
        return reply["ticket"], max(min(TICKET_TTL, int(reply.get("expires_in", 7200)) - 200), 60)

    def get_jsapi_ticket(self) -> str:
        """Corp ticket (wx.config / getConfigSignature), cached in Redis per corp."""
        return self._cached(f"{self.corp_id}:jsapi_ticket", api="get_jsapi_ticket",
                            fetch=lambda: self._ticket(self.call("GET", "get_jsapi_ticket")))

    def get_agent_jsapi_ticket(self) -> str:
        """App ticket (wx.agentConfig / getAgentConfigSignature), cached per corp and agent
        (wechatpy keys it per corp only, so two apps would overwrite each other)."""
        if self.agent_id is None:
            raise ValueError("get_agent_jsapi_ticket() needs WeComClient(agent_id=...)")
        return self._cached(f"{self.corp_id}:{self.agent_id}:agent_jsapi_ticket", api="ticket/get",
                            fetch=lambda: self._ticket(self.call("GET", "ticket/get", params={"type": "agent_config"})))

    def jsapi_signature(self, ticket: str, noncestr: str, timestamp: int | str, url: str) -> str:
        """sha1 over the sorted key=value pairs; the signed URL excludes any #fragment (doc 90506)."""
        return self.jsapi.get_jsapi_signature(noncestr, ticket, timestamp, url.split("#", 1)[0])
