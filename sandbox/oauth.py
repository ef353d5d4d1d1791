"""WeCom's OAuth2 authorize page and web login page, simulated (docs/wecom/sidebar.md#oauth,
docs/console.md).

  GET /connect/oauth2/authorize?appid=&redirect_uri=&response_type=code&scope=snsapi_base&state=&agentid=
      → 302 to redirect_uri?code=…&state=… with a code for auth/getuserinfo (5 min, single use)
  GET /wwlogin/sso/login?login_type=CorpApp&appid=&agentid=&redirect_uri=&state=&lang=
      → the console's sign-in (企业微信Web登录, PROTOCOL.md §4.5): a page listing the active members
        to pick (where real WeCom shows a QR code to scan); picking one (``userid=``) → 302 to
        redirect_uri?code=…&state=… as above

Real WeCom knows who is signed in to the client; here it is the member chosen in the sandbox
chat window (cookie ``sandbox_staff``, set by chat.js; 127.0.0.1:5001 and :5000 share cookies),
else the ``userid`` query parameter (tests, scripts). When the simulator knows the service's URL
(``SANDBOX_SERVICE_URL``), redirect_uri must be on its host, as WeCom requires the app's
可信域名 (50001 otherwise). Problems answer a small Chinese page, as WeCom does.
"""
from __future__ import annotations

from urllib.parse import unquote, urlencode, urlsplit

from flask import Blueprint, current_app, redirect, render_template_string, request

from sandbox.errors import ApiError

bp = Blueprint("sandbox_oauth", __name__)

STAFF_COOKIE = "sandbox_staff"

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>企业微信授权（沙盒）</title></head>
<body style="font:15px/1.6 sans-serif;text-align:center;padding:48px 20px;color:#1f2329">
<h1 style="font-size:18px">无法完成企业微信授权</h1><p>{{ message }}</p>
<p style="color:#8f959e">企业微信沙盒 · 错误码 {{ errcode }}</p></body></html>"""


LOGIN_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>企业微信登录（沙盒）</title></head>
<body style="font:15px/1.6 sans-serif;max-width:420px;margin:0 auto;padding:40px 20px;color:#1f2329">
<h1 style="font-size:18px;text-align:center">企业微信登录</h1>
<p style="color:#8f959e;text-align:center">沙盒模式：真实环境在此扫码登录，这里请选择以哪位成员登录。</p>
<ul class="members" style="list-style:none;padding:0">
{% for member in members %}<li style="margin:8px 0"><a class="member" data-userid="{{ member.userid }}"
 href="{{ member.href }}" style="display:block;padding:10px 14px;border:1px solid #dee0e3;border-radius:6px;
 text-decoration:none;color:inherit">{{ member.name }}
 <span style="color:#8f959e">（{{ member.userid }}）</span></a></li>
{% else %}<li>沙盒企业中没有在职成员。</li>{% endfor %}
</ul><p style="color:#8f959e;text-align:center">企业微信沙盒</p></body></html>"""


def _error(status: int, errcode: int, message: str):
    response = current_app.make_response((render_template_string(PAGE, message=message, errcode=errcode), status))
    # Shown inside the chat window's sidebar frame (same origin as this page's parent).
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.get("/connect/oauth2/authorize")
def authorize():
    world = current_app.extensions["sandbox_world"]
    args = request.args
    if args.get("appid") != world.config.corp_id:
        return _error(400, 40013, f"appid 不是沙盒企业的 corpid（{world.config.corp_id}）。")
    redirect_uri = args.get("redirect_uri", "")
    problem = _check_redirect_uri(redirect_uri)
    if problem is not None:
        return problem
    target = urlsplit(redirect_uri)
    if args.get("response_type") != "code" or args.get("scope") not in ("snsapi_base", "snsapi_privateinfo"):
        return _error(400, 40058, "response_type 必须为 code，scope 必须为 snsapi_base 或 snsapi_privateinfo。")
    userid = unquote(request.cookies.get(STAFF_COOKIE, "")) or args.get("userid") or ""
    if not userid:
        return _error(403, 60111, "请先在沙盒聊天窗口中选择一位成员，再打开侧边栏。")
    with world.lock:
        try:
            code = world.issue_oauth_code(userid)
        except ApiError:
            return _error(403, 60111, f"沙盒中没有在职成员 {userid}，请在聊天窗口重新选择成员。")
    world.feed.add("oauth_authorize", userid=userid, redirect_uri=redirect_uri)
    query = {"code": code, **({"state": args["state"]} if "state" in args else {})}
    separator = "&" if target.query else "?"
    return redirect(redirect_uri.split("#", 1)[0] + separator + urlencode(query))


def _check_redirect_uri(redirect_uri: str):
    """A problem page when redirect_uri is not an http(s) URL on the app's trusted domain; else None."""
    target = urlsplit(redirect_uri)
    if target.scheme not in ("http", "https") or not target.netloc:
        return _error(400, 50001, "redirect_uri 缺失或不是 http(s) 地址。")
    service = current_app.config.get("SANDBOX_SERVICE_URL")
    if service and urlsplit(service).netloc.lower() != target.netloc.lower():
        return _error(400, 50001, f"redirect_uri 的域名与应用的可信域名（{urlsplit(service).netloc}）不一致。")
    return None


@bp.get("/wwlogin/sso/login")
def web_login():
    world = current_app.extensions["sandbox_world"]
    args = request.args
    if args.get("login_type") != "CorpApp":
        return _error(400, 40058, "login_type 必须为 CorpApp（企业自建应用）。")
    if args.get("appid") != world.config.corp_id:
        return _error(400, 40013, f"appid 不是沙盒企业的 corpid（{world.config.corp_id}）。")
    if args.get("agentid") != str(world.config.agent_id):
        return _error(400, 40056, f"agentid 不是沙盒应用的 AgentId（{world.config.agent_id}）。")
    redirect_uri = args.get("redirect_uri", "")
    problem = _check_redirect_uri(redirect_uri)
    if problem is not None:
        return problem
    userid = args.get("userid")
    if not userid:
        with world.lock:
            members = [{"userid": m.userid, "name": m.name,
                        "href": request.path + "?" + urlencode([*args.items(multi=True), ("userid", m.userid)])}
                       for m in world.active_staff()]
        return render_template_string(LOGIN_PAGE, members=members)
    with world.lock:
        try:
            code = world.issue_oauth_code(userid)
        except ApiError:
            return _error(403, 60111, f"沙盒中没有在职成员 {userid}，请返回重新选择。")
    world.feed.add("web_login", userid=userid, redirect_uri=redirect_uri)
    query = {"code": code, **({"state": args["state"]} if "state" in args else {})}
    target = urlsplit(redirect_uri)
    return redirect(redirect_uri.split("#", 1)[0] + ("&" if target.query else "?") + urlencode(query))
