"""The console's pages (server-rendered shells; the data as JSON) and their endpoints.

  GET /console/                 工作台: figures and the adds-per-day chart (/console/api/dashboard)
  GET /console/<section>        a section of the menu not built yet: 「即将推出」
  GET /console/api/me           who is signed in
  GET /console/api/dashboard    the 工作台's figures (scrm/services/console/dashboard.py)
"""
from __future__ import annotations

from flask import abort, g, jsonify, render_template

from console import access, bp
from console.menu import BY_SLUG, menu
from scrm.services import policy
from scrm.services.console import dashboard


def _me() -> dict:
    role = access.role()
    return {"name": g.console.name, "kind": g.console.kind, "userid": g.console.userid,
            "role": role, "role_label": policy.ROLE_LABELS.get(role, "成员")}


def _shell(template: str, slug: str, **page):
    section = BY_SLUG[slug]
    bootstrap = {"user": _me(), "menu": menu(), "active": f"/console/{slug}", "title": section.title, **page}
    return render_template(template, bootstrap=bootstrap, title=section.title)


@bp.get("/")
def dashboard_page():
    return _shell("console/dashboard.html", "", page="dashboard")


@bp.get("/<slug>")
def section_page(slug: str):
    section = BY_SLUG.get(slug)
    if section is None or section.built:
        abort(404)
    return _shell("console/coming_soon.html", slug, page="coming-soon", summary=section.summary)


@bp.get("/api/me")
def me():
    return jsonify(_me())


@bp.get("/api/dashboard")
def dashboard_data():
    userid = g.console.userid if g.console.kind == "staff" else None
    return jsonify(dashboard.overview(g.console.corp_id, userid))
