"""The simulator's sandbox page and chat window (sandbox/web): routes, assets, no external URLs."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from sandbox import __main__ as cli
from sandbox import web
from sandbox.app import create_simulator_app
from tests.sandbox.conftest import FakeClock, make_world

SERVICE = "http://127.0.0.1:5999"
STATIC = Path(web.__file__).parent / "static"
TEMPLATES = Path(web.__file__).parent / "templates"
URL = re.compile(r"""https?://[^\s"'<>)]+""")
ASSET = re.compile(r"""(?:src|href)="(/sandbox/static/[^"]+)\"""")


@pytest.fixture
def world():
    return make_world(FakeClock())


@pytest.fixture
def sim(world):
    app = create_simulator_app(world, SERVICE + "/wecom/callback", blueprints=[web.bp])
    app.config["SANDBOX_SERVICE_URL"] = SERVICE
    return app.test_client()


def pages(world) -> list[str]:
    staff = next(s for s in world.staff.values() if s.relations)
    customer = next(iter(staff.relations))
    chat_id = next(iter(world.groups))
    return ["/", "/chat", f"/chat?staff={staff.userid}&customer={customer}",
            f"/chat?staff={staff.userid}&chat={chat_id}"]


def test_pages_render_in_chinese_without_external_urls(sim, world):
    for path in pages(world):
        resp = sim.get(path)
        assert resp.status_code == 200, path
        assert resp.mimetype == "text/html"
        html = resp.get_data(as_text=True)
        assert 'lang="zh-CN"' in html and "沙盒" in html
        # The only absolute URL a page may name is the service it frames / links to.
        assert [u for u in URL.findall(html) if not u.startswith(SERVICE)] == [], path
        assert resp.headers["X-Frame-Options"] == "DENY"


def test_every_referenced_static_asset_is_served(sim, world):
    assets = set()
    for path in pages(world):
        assets |= set(ASSET.findall(sim.get(path).get_data(as_text=True)))
    assert {"/sandbox/static/sandbox.css", "/sandbox/static/common.js", "/sandbox/static/page.js",
            "/sandbox/static/chat.js"} <= assets
    for asset in assets:
        resp = sim.get(asset)
        assert resp.status_code == 200, asset
        resp.close()


def test_static_files_load_nothing_from_elsewhere_and_never_use_innerhtml():
    for path in STATIC.iterdir():
        text = path.read_text(encoding="utf-8")
        assert URL.findall(text) == [], path.name
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text and "document.write" not in text
    for path in TEMPLATES.rglob("*.html"):
        assert "|safe" not in path.read_text(encoding="utf-8").replace(" ", ""), path.name


def test_templates_are_autoescaped(sim):
    app = sim.application
    assert app.jinja_env.autoescape("sandbox_web/index.html") is True


def test_chat_window_frames_the_service_and_checks_its_origin(sim):
    html = sim.get("/chat?staff=u1&customer=wm1").get_data(as_text=True)
    assert f'data-service-url="{SERVICE}"' in html and f'data-service-origin="{SERVICE}"' in html
    chat_js = (STATIC / "chat.js").read_text(encoding="utf-8")
    assert "event.origin !== serviceOrigin" in chat_js and "/sidebar/?" in chat_js and "ww_parent" in chat_js


def test_service_url_option_defaults_to_the_local_service():
    assert cli.parse_args([]).service_url == "http://127.0.0.1:5000"
    args = cli.parse_args(["--service-url", "http://127.0.0.1:7000/", "--staff", "3", "--customers", "20",
                           "--groups", "2"])
    app = cli.build_app(args)
    html = app.test_client().get("/chat").get_data(as_text=True)
    assert 'data-service-url="http://127.0.0.1:7000"' in html
    assert app.test_client().get("/sandbox/api/").status_code == 200  # the control API is still there
