"""The console's customer and group pages (issue #14, part 4). Shells only: the data comes from
the Open API's resources under /console/api/v1 (customer-search, segments, customers/<id>/profile
and /timeline, groups, group-stats).

  GET /console/customers                      客户: the list with filters and saved segments
  GET /console/customers/<external_userid>    a customer's page
  GET /console/groups                         客户群: the list with filters
  GET /console/groups/<chat_id>               a group's page: members and daily analytics
"""
from __future__ import annotations

from console import bp
from console.pages import _shell


@bp.get("/customers")
def customers_page():
    return _shell("console/customers.html", "customers", page="customers")


@bp.get("/customers/<external_userid>")
def customer_page(external_userid: str):
    # The id reaches the page as JSON in the bootstrap (never rendered by Jinja inside #app).
    return _shell("console/customer.html", "customers", page="customer", external_userid=external_userid)


@bp.get("/groups")
def groups_page():
    return _shell("console/groups.html", "groups", page="groups")


@bp.get("/groups/<chat_id>")
def group_page(chat_id: str):
    return _shell("console/group.html", "groups", page="group", chat_id=chat_id)
