"""Customer SOPs: /api/v1/sops, per-customer progress and customer dates."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask_smorest.pagination import PaginationParameters
from marshmallow import ValidationError
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from scrm.api.auth import current_corp_id
from scrm.api.common import make_blueprint, page_of, paginate, row_dict
from scrm.api.writes import found, service_errors, unprocessable
from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import Customer, Sop, SopEnrollment, SopStatus
from scrm.schemas.sops import (
    DATE_KEY,
    CustomerDateInSchema,
    CustomerDateSchema,
    EnrollmentProgressSchema,
    SopInSchema,
    SopPatchSchema,
    SopResultsSchema,
    SopSchema,
    SopTaskArgsSchema,
    SopTaskSchema,
)
from scrm.services import sop as sops
from scrm.services.sop import reports

blp = make_blueprint("sops", __name__, "/api/v1", "Customer SOPs (客户SOP): follow-up steps for new customers, "
                     "and each customer's progress through them.")


def _out(rows: list[Sop]) -> list[dict[str, Any]]:
    steps = sops.steps_of([s.id for s in rows])
    counts = dict(db.session.execute(select(SopEnrollment.sop_id, func.count()).where(
        SopEnrollment.sop_id.in_([s.id for s in rows])).group_by(SopEnrollment.sop_id)).all()) if rows else {}
    return [row_dict(s, steps=[row_dict(step) for step in steps[s.id]], enrolled=counts.get(s.id, 0))
            for s in rows]


def _sop(sop_id: int) -> Sop:
    return found(sops.get(current_corp_id(), sop_id), "SOP")


@blp.route("/sops")
@blp.response(200, SopSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
def list_sops() -> list[dict[str, Any]]:
    """List SOPs"""
    rows = db.session.scalars(select(Sop).where(Sop.corp_id == current_corp_id(),
                                                Sop.status != SopStatus.DELETED).order_by(Sop.id))
    return _out(list(rows))


@blp.route("/sops", methods=["POST"])
@blp.arguments(SopInSchema)
@blp.response(201, SopSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_sop(data: dict[str, Any]) -> dict[str, Any]:
    """Create an SOP

    Applies to customers added from now on whose relation matches `conditions` (channel, tags,
    staff); each step then runs once per customer at its time (relative to the add or to a
    customer date), unless the customer is lost or no longer matches by then.
    """
    with service_errors():
        created = sops.create(current_corp_id(), data)
    return _out([created])[0]


@blp.route("/sops/<int:sop_id>")
@blp.response(200, SopSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_sop(sop_id: int) -> dict[str, Any]:
    """Get an SOP"""
    return _out([_sop(sop_id)])[0]


@blp.route("/sops/<int:sop_id>", methods=["PATCH"])
@blp.arguments(SopPatchSchema)
@blp.response(200, SopSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def update_sop(data: dict[str, Any], sop_id: int) -> dict[str, Any]:
    """Edit an SOP (changes apply to steps not yet run)"""
    row = _sop(sop_id)
    with service_errors():
        sops.update_sop(row, data)
    return _out([row])[0]


@blp.route("/sops/<int:sop_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def delete_sop(sop_id: int) -> None:
    """Delete an SOP (its pending steps are cancelled)"""
    sop = _sop(sop_id)
    with service_errors():
        sops.set_status(sop, SopStatus.DELETED)


@blp.route("/sops/<int:sop_id>/pause", methods=["POST"])
@blp.response(200, SopSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def pause_sop(sop_id: int) -> dict[str, Any]:
    """Pause an SOP (due steps wait; no new customers are enrolled)"""
    sop = _sop(sop_id)
    with service_errors():
        return _out([sops.set_status(sop, SopStatus.PAUSED)])[0]


@blp.route("/sops/<int:sop_id>/resume", methods=["POST"])
@blp.response(200, SopSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def resume_sop(sop_id: int) -> dict[str, Any]:
    """Resume an SOP (steps that fell due meanwhile run, unless over 24 h late: those are skipped)"""
    sop = _sop(sop_id)
    with service_errors():
        return _out([sops.set_status(sop, SopStatus.ACTIVE)])[0]


CALENDAR_SPAN = timedelta(days=31)


@blp.route("/sops/<int:sop_id>/tasks")
@blp.arguments(SopTaskArgsSchema, location="query", as_kwargs=True)
@blp.response(200, SopTaskSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@paginate(blp)
def sop_tasks(pagination_parameters: PaginationParameters, sop_id: int, status: str | None = None,
              userid: str | None = None, since: datetime | None = None,
              until: datetime | None = None) -> list[dict[str, Any]]:
    """An SOP's tasks: the execution calendar and per-task results

    One task per step and enrolled customer, by due time within [since, until) (default: from a
    day ago, 31 days); each with its status and, once run, WeCom's result or the error.
    """
    sop = _sop(sop_id)
    start = since or utcnow() - timedelta(days=1)
    end = until or start + CALENDAR_SPAN
    query = reports.tasks_query(sop, status=status, userid=userid, start=start, end=end)
    return reports.describe_tasks(sop, page_of(query, pagination_parameters))


@blp.route("/sops/<int:sop_id>/results")
@blp.response(200, SopResultsSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def sop_results(sop_id: int) -> dict[str, Any]:
    """An SOP's results: tasks by status and by WeCom result, per step, and why tasks failed or were skipped"""
    return reports.results(_sop(sop_id))


def _customer(external_userid: str) -> None:
    exists = db.session.scalar(select(Customer.id).filter_by(corp_id=current_corp_id(),
                                                             external_userid=external_userid))
    if exists is None:
        raise NotFound("No customer with this external_userid.")


@blp.route("/customers/<external_userid>/sops")
@blp.response(200, EnrollmentProgressSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def customer_sops(external_userid: str) -> list[dict[str, Any]]:
    """A customer's SOP progress

    Every SOP the customer was enrolled in (per staff relation), with each step's due time,
    status and result.
    """
    _customer(external_userid)
    return sops.progress(current_corp_id(), external_userid)


@blp.route("/customers/<external_userid>/dates/<key>", methods=["PUT"])
@blp.arguments(CustomerDateInSchema)
@blp.response(200, CustomerDateSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def put_customer_date(data: dict[str, Any], external_userid: str, key: str) -> dict[str, Any]:
    """Set a customer date (birthday, contract end, ...) that SOP steps can be anchored to"""
    try:
        DATE_KEY(key)
    except ValidationError as exc:  # the path part is bad
        raise unprocessable("path", {"key": exc.messages}) from None
    _customer(external_userid)
    value: date | None = data["value"]
    with service_errors():
        sops.set_customer_date(current_corp_id(), external_userid, key, value)
    return {"external_userid": external_userid, "key": key, "value": value}
