"""The customer and group pages' shells: built sections, the ids only as JSON in the bootstrap."""
from __future__ import annotations

import json
import re

NAUGHTY = "{{constructor.constructor('alert(1)')()}}<b>x"


def bootstrap(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="console-bootstrap">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def test_the_pages_need_a_session(client):
    for path in ("/console/customers", "/console/customers/wm1", "/console/groups", "/console/groups/wr1"):
        assert client.get(path).status_code == 302, path


def test_each_page_loads_its_script(admin_client):
    for path, page, script in (("/console/customers", "customers", "customers.js"),
                               ("/console/customers/wmc1", "customer", "customer.js"),
                               ("/console/groups", "groups", "groups.js"),
                               ("/console/groups/wrg1", "group", "group.js")):
        resp = admin_client.get(path)
        assert resp.status_code == 200, path
        html = resp.get_data(as_text=True)
        data = bootstrap(html)
        assert data["page"] == page and "即将推出" not in html
        assert f"/console/static/{script}" in html and "/console/static/customer_filters.js" in html
    assert bootstrap(admin_client.get("/console/groups/wrg1").get_data(as_text=True))["active"] == "/console/groups"


def test_an_id_in_the_path_reaches_the_page_only_as_json(admin_client):
    html = admin_client.get("/console/customers/" + NAUGHTY).get_data(as_text=True)
    assert bootstrap(html)["external_userid"] == NAUGHTY
    assert NAUGHTY not in html and html.count("constructor.constructor") == 1
