"""The vendored release files: served by us with the right content types, each listed with its
checksum in VERSIONS.md, each package with its licence; no page refers to another host."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

VENDOR = Path(__file__).resolve().parents[2] / "console" / "static" / "vendor"
TEMPLATES = Path(__file__).resolve().parents[2] / "console" / "templates"
FILES = sorted(p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file() and p.name != "VERSIONS.md")


def listed() -> dict[str, str]:
    text = (VENDOR / "VERSIONS.md").read_text()
    return dict(re.findall(r"^\| ([\w./-]+) \| package/[\w./-]+ \| ([0-9a-f]{64}) \|$", text, re.M))


def test_versions_md_lists_every_file_with_its_checksum():
    rows = listed()
    assert sorted(rows) == FILES
    for name, digest in rows.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_every_package_has_its_licence_and_a_row():
    text = (VENDOR / "VERSIONS.md").read_text()
    for folder, package, licence in (("vue", "vue", "MIT"), ("element-plus", "element-plus", "MIT"),
                                     ("element-plus-icons-vue", "@element-plus/icons-vue", "MIT"),
                                     ("echarts", "echarts", "Apache-2.0")):
        assert (VENDOR / folder / "LICENSE").is_file()
        assert re.search(rf"^\| {re.escape(package)} \| [\d.]+ \| {re.escape(licence)}", text, re.M), package


@pytest.mark.parametrize(("name", "content_type"), [
    ("vue/vue.global.prod.js", "javascript"), ("element-plus/index.full.min.js", "javascript"),
    ("element-plus/locale/zh-cn.min.js", "javascript"), ("element-plus-icons-vue/index.iife.min.js", "javascript"),
    ("echarts/echarts.min.js", "javascript"), ("element-plus/index.css", "text/css"),
])
def test_served_with_the_right_content_type(client, name, content_type):
    resp = client.get(f"/console/static/vendor/{name}")
    assert resp.status_code == 200
    assert content_type in resp.headers["Content-Type"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.get_data() == (VENDOR / name).read_bytes()
    resp.close()


def test_our_scripts_are_served_without_signing_in(client):
    for name in ("console.js", "boot.js", "dashboard.js"):
        resp = client.get(f"/console/static/{name}")
        assert resp.status_code == 200 and "javascript" in resp.headers["Content-Type"], name
        resp.close()
    assert "text/css" in client.get("/console/static/console.css").headers["Content-Type"]


def test_no_template_loads_anything_from_another_host():
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"""(src|href)=["'](https?:)?//""", text), template.name
        assert "cdn" not in text.lower(), template.name
