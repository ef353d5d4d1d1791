"""GET /metrics: the status (scrm/services/status) in Prometheus' text format, read at scrape time.

Who may scrape (docs/operations.md "Metrics"): with SCRM_METRICS_TOKEN set, a request with
`Authorization: Bearer <that token>` (from anywhere); without it, only a direct request from a
loopback or private address (no X-Forwarded-For / Forwarded / X-Real-IP header, so a request
relayed by a reverse proxy on the same host is refused too). Every web process answers for
the whole deployment, so scrape any one of them; no multiprocess mode is needed.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from scrm.config import settings
from scrm.services import status

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)
PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels or [])


class StatusCollector:
    """A custom collector: one status.gather() per scrape, turned into gauges."""

    def collect(self) -> Iterator[Metric]:
        up = _gauge("scrm_status_up", "1 when the status could be read (Redis and the database answered).")
        try:
            data = status.gather()
        except Exception as exc:  # noqa: BLE001 - a scrape must still say that it failed
            log.warning("status for /metrics failed: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _queue_metrics(data)
        yield from _data_metrics(data)
        yield from _corp_metrics(data["corps"])
        yield from _scheduler_metrics(data["scheduler"])


def _queue_metrics(data: dict[str, Any]) -> Iterator[Metric]:
    families = {
        "depth": _gauge("scrm_queue_depth", "Jobs waiting in the queue.", ["queue"]),
        "oldest_age_seconds": _gauge("scrm_queue_oldest_job_age_seconds",
                                     "How long the oldest waiting job has waited (0: empty).", ["queue"]),
        "scheduled": _gauge("scrm_queue_scheduled_jobs", "Delayed jobs not due yet.", ["queue"]),
        "running": _gauge("scrm_queue_running_jobs", "Jobs running now.", ["queue"]),
        "failed": _gauge("scrm_queue_failed_jobs", "Jobs in the queue's failed registry.", ["queue"]),
        "workers": _gauge("scrm_queue_workers", "Workers registered on the queue.", ["queue"]),
    }
    for queue in data["queues"]:
        for field, family in families.items():
            family.add_metric([queue["name"]], queue[field] or 0)
    yield from families.values()
    failed = _gauge("scrm_failed_jobs_by_function", "Failed jobs per job function (newest 1,000 per queue).",
                    ["function"])
    for group in data["failed_jobs"]["by_function"]:
        failed.add_metric([group["function"]], group["count"])
    yield failed


def _data_metrics(data: dict[str, Any]) -> Iterator[Metric]:
    inbox = data["inbox"]
    rows = _gauge("scrm_inbox_rows", "Inbox rows still open: pending or failed.", ["status"])
    rows.add_metric(["pending"], inbox["pending"])
    rows.add_metric(["failed"], inbox["failed"])
    yield rows
    oldest = _gauge("scrm_inbox_oldest_pending_age_seconds", "Age of the oldest pending inbox row (0: none).")
    oldest.add_metric([], inbox["oldest_pending_age_seconds"] or 0)
    yield oldest
    recent = _gauge("scrm_inbox_received_last_hour", "Callbacks received in the last hour, by status.", ["status"])
    for name, count in inbox["last_hour"].items():
        recent.add_metric([name], count)
    yield recent
    spool = data["spool"]
    for name, doc, value in (
            ("scrm_spool_files", "Spool files not drained yet on this host.", spool["files"]),
            ("scrm_spool_bytes", "Bytes in those files.", spool["bytes"]),
            ("scrm_spool_oldest_age_seconds", "Age of the oldest spool file (0: none).",
             spool["oldest_age_seconds"] or 0)):
        family = _gauge(name, doc)
        family.add_metric([], value)
        yield family


def _corp_metrics(corps: list[dict[str, Any]]) -> Iterator[Metric]:
    sync_ok = _gauge("scrm_last_sync_succeeded", "1 when the corp's newest sync run succeeded.", ["corp"])
    sync_age = _gauge("scrm_last_sync_age_seconds", "Seconds since the corp's newest sync run was created.",
                      ["corp"])
    sync_errors = _gauge("scrm_last_sync_errors", "Item errors of the corp's newest sync run.", ["corp"])
    calls = _gauge("scrm_wecom_calls_last_hour", "WeCom API calls in the last hour.", ["corp", "api"])
    errors = _gauge("scrm_wecom_errors_last_hour", "Failed WeCom API calls in the last hour, by errcode.",
                    ["corp", "api", "errcode"])
    headroom = _gauge("scrm_wecom_rate_headroom_ratio",
                      "Share of the per-API call budget left (busiest API, peak minute and hour).", ["corp"])
    burst = _gauge("scrm_wecom_rate_burst_left_ratio", "The rate limiter's burst left (0: calls wait).", ["corp"])
    throttled = _gauge("scrm_wecom_rate_throttled_apis", "APIs whose next call would wait for room.", ["corp"])
    for corp in corps:
        corp_id, wecom, last = corp["corp_id"], corp["wecom"], corp["last_sync"]
        if last is not None:
            sync_ok.add_metric([corp_id], 1 if last["status"] == "succeeded" else 0)
            sync_age.add_metric([corp_id], last["age_seconds"])
            sync_errors.add_metric([corp_id], last["error_count"])
        for line in wecom["apis"]:
            calls.add_metric([corp_id, line["api"]], line["calls"])
            for errcode, count in line["errcodes"].items():
                errors.add_metric([corp_id, line["api"], errcode], count)
        budget = wecom["rate_budget"]
        headroom.add_metric([corp_id], budget["headroom"])
        burst.add_metric([corp_id], budget["burst_left"])
        throttled.add_metric([corp_id], len(budget["throttled_apis"]))
    yield from (sync_ok, sync_age, sync_errors, calls, errors, headroom, burst, throttled)


def _scheduler_metrics(scheduler: dict[str, Any]) -> Iterator[Metric]:
    up = _gauge("scrm_scheduler_up", "1 while a scheduler holds the scheduler lock.")
    up.add_metric([], 1 if scheduler["running"] else 0)
    yield up
    if scheduler["running"]:
        age = _gauge("scrm_scheduler_heartbeat_age_seconds", "Seconds since the scheduler renewed its lock.")
        age.add_metric([], scheduler["heartbeat_age_seconds"])
        yield age


_registry = CollectorRegistry(auto_describe=False)
_registry.register(StatusCollector())  # no describe(): nothing is read until a scrape


# Loopback and the private ranges (RFC 1918, IPv6 unique local): a scraper inside the network.
INTERNAL_NETWORKS = tuple(ipaddress.ip_network(net) for net in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fc00::/7"))


def _internal_address(remote_addr: str | None) -> bool:
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in INTERNAL_NETWORKS)


def _refusal() -> Response | None:
    token = settings().metrics_token
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return None
        return Response("metrics: send Authorization: Bearer <SCRM_METRICS_TOKEN>\n", 401,
                        {"WWW-Authenticate": 'Bearer realm="metrics"'}, mimetype="text/plain")
    if any(header in request.headers for header in PROXY_HEADERS) or not _internal_address(request.remote_addr):
        return Response("metrics: only served to loopback and private addresses unless "
                        "SCRM_METRICS_TOKEN is set\n", 403, mimetype="text/plain")
    return None


@bp.get("/metrics")
def metrics() -> Response:
    refusal = _refusal()
    if refusal is not None:
        return refusal
    return Response(generate_latest(_registry), headers={"Cache-Control": "no-store"},
                    content_type=CONTENT_TYPE_LATEST)
