"""``python -m sandbox``: run the WeCom simulator as its own process.

    python -m sandbox --port 5001 --callback-url http://127.0.0.1:5000/wecom/callback \\
        [--service-url http://127.0.0.1:5000] [--staff 20 --customers 3000 --groups 60 --seed 42] \\
        [--latency-ms 50-150] \\
        [--token-ttl 7200 --rate-limit 10000 --not-contact-window 0 --groupmsg-dispatch 2] \\
        [--duplicate-callbacks] [--threads 64] [--host 127.0.0.1 [--allow-remote]] \\
        [--state-file instance/sandbox-world.json]

Point the service at it with WECOM_API_BASE_URL=http://127.0.0.1:5001/cgi-bin/ and the sandbox
corp's credentials (scrm.sandbox_corp.SANDBOX_*). It refuses to start when WECOM_CORP_ID names a real
corp: the simulator must never stand in for, or be confused with, a configured WeCom account.

It binds loopback only (127.0.0.1, ::1, localhost) unless told otherwise with ``--allow-remote``
or SANDBOX_ALLOW_REMOTE=1: its control API is unauthenticated (anyone who reaches it can add
customers, send callbacks the service trusts, and read every plaintext in the feed).

Server: gunicorn with ONE worker process (the world lives in that process's memory; a second
worker would be a second, diverging corp) and gthread threads, so concurrent API calls and
the configured latency (slept in the request thread) overlap. ``--threads`` bounds how many
calls are in flight at once; keep it above the service's concurrency when simulating latency.

``--state-file`` keeps the world across restarts (sandbox/persistence.py): loaded at start when the
file exists (the sizes and seed then come from the file), saved a few seconds after a change and
when the simulator stops. Without it every start seeds a fresh world.
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import sys
import time
from pathlib import Path

from scrm.sandbox_corp import SANDBOX_CORP_ID


def _latency(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    try:
        bounds = float(low), float(high or low)
    except ValueError:
        raise argparse.ArgumentTypeError("expected MS or MIN-MAX, e.g. 50-150") from None
    if bounds[0] < 0 or bounds[1] < bounds[0]:
        raise argparse.ArgumentTypeError("expected 0 <= MIN <= MAX")
    return bounds


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m sandbox", description="WeCom simulator (sandbox mode)")
    p.add_argument("--host", default="127.0.0.1", help="loopback only unless --allow-remote")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a non-loopback --host (also SANDBOX_ALLOW_REMOTE=1): the control API has no auth")
    p.add_argument("--port", type=int, default=5001)
    p.add_argument("--callback-url", default=None, help="the service's callback URL (no callbacks without)")
    p.add_argument("--service-url", default="http://127.0.0.1:5000",
                   help="the service's base URL (the chat window frames its /sidebar/ page)")
    p.add_argument("--staff", type=int, default=20)
    p.add_argument("--customers", type=int, default=3000)
    p.add_argument("--groups", type=int, default=60)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--latency-ms", type=_latency, default=(0.0, 0.0), help="per API call, e.g. 50-150")
    p.add_argument("--token-ttl", type=int, default=7200, help="access_token expires_in (s)")
    p.add_argument("--rate-limit", type=int, default=10_000, help="calls per API per minute before 45009")
    p.add_argument("--not-contact-window", type=float, default=0.0,
                   help="s during which externalcontact/get answers 84061 after an add")
    p.add_argument("--groupmsg-dispatch", type=float, default=2.0,
                   help="s after add_msg_template during which its queries answer 41063")
    p.add_argument("--mass-send-quota", type=int, default=None,
                   help="mass messages a customer or group receives per month (default: days in the month)")
    p.add_argument("--welcome-code-ttl", type=float, default=20.0)
    p.add_argument("--duplicate-callbacks", action="store_true", help="deliver every callback twice")
    p.add_argument("--callback-workers", type=int, default=1,
                   help="parallel callback deliveries (1 keeps them in order)")
    p.add_argument("--threads", type=int, default=64, help="gunicorn gthread threads")
    p.add_argument("--state-file", type=Path, default=None,
                   help="keep the world in this JSON file across restarts (default: a fresh world each start)")
    return p.parse_args(argv)


def refuse_real_credentials(env: dict[str, str]) -> str | None:
    """The reason not to start, if the environment configures a real corp."""
    corp_id = (env.get("WECOM_CORP_ID") or "").strip()
    if corp_id and corp_id != SANDBOX_CORP_ID:
        return (f"WECOM_CORP_ID is set to {corp_id}, a real WeCom corp: the sandbox simulator only runs "
                f"when WeCom is not configured (or WECOM_CORP_ID={SANDBOX_CORP_ID}). Unset the WECOM_* "
                "variables to use sandbox mode.")
    return None


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name other than localhost, or "" (every interface)
        return False


def url_host(host: str) -> str:
    """``host`` as it goes into a URL or gunicorn's bind (IPv6 in brackets)."""
    return f"[{host.strip('[]')}]" if ":" in host else host


def refuse_remote_bind(host: str, allow_remote: bool, env: dict[str, str]) -> str | None:
    """The reason not to start, if ``host`` is not loopback and nobody allowed that explicitly."""
    if is_loopback(host) or allow_remote or env.get("SANDBOX_ALLOW_REMOTE") == "1":
        return None
    return (f"--host {host or '(all interfaces)'} is not loopback: the simulator's control API has no "
            "authentication, so it binds 127.0.0.1, ::1 or localhost only; pass --allow-remote (or set "
            "SANDBOX_ALLOW_REMOTE=1) to expose it anyway.")


_autosaver = None  # the worker's Autosaver (--state-file), stopped (and saved) when the worker exits


def build_world(args: argparse.Namespace):
    """A world from ``--state-file`` when it holds one, else a freshly seeded one; and how it came."""
    from sandbox import persistence
    from sandbox.world import World, WorldConfig

    config = WorldConfig(token_ttl=args.token_ttl, rate_limit=args.rate_limit,
                         welcome_code_ttl=args.welcome_code_ttl, not_contact_window=args.not_contact_window,
                         groupmsg_dispatch=args.groupmsg_dispatch, latency_ms=args.latency_ms,
                         mass_send_monthly_quota=args.mass_send_quota)
    wanted = {"staff": args.staff, "customers": args.customers, "groups": args.groups, "seed": args.seed}
    started = time.monotonic()
    state_file: Path | None = args.state_file
    note = ""
    if state_file is not None and state_file.exists():
        world = World(config, seed=args.seed)
        try:
            seeded_with = persistence.load(world, state_file)
        except (OSError, ValueError) as exc:
            aside = state_file.with_name(state_file.name + ".unreadable")
            os.replace(state_file, aside)
            note = f"; {state_file} was unreadable ({exc}), moved to {aside.name}"
        else:
            how = f"restored from {state_file}"
            if seeded_with and seeded_with != wanted:
                how += (": its sizes differ from the SANDBOX_* settings, which apply to a new world only "
                        "(delete the file and the service's database to start over)")
            return world, how, seeded_with or wanted
    world = World(config, seed=args.seed).seed(staff=args.staff, customers=args.customers, groups=args.groups,
                                               seed=args.seed)
    how = f"seeded in {time.monotonic() - started:.1f} s{note}"
    if state_file is not None:
        persistence.save(world, state_file, wanted)
        how += f", kept in {state_file}"
    return world, how, wanted


def build_app(args: argparse.Namespace):
    global _autosaver
    from sandbox import persistence, web
    from sandbox.app import create_simulator_app

    world, how, seeded_with = build_world(args)
    origin = f"http://{url_host(args.host)}:{args.port}"
    print(f"[sandbox] WeCom simulator: corp {world.config.corp_id}, {len(world.staff)} staff, "
          f"{len(world.customers)} customers, {len(world.groups)} groups ({how}); API {origin}/cgi-bin/, "
          f"control API /sandbox/api/; callbacks → {args.callback_url or 'none (no --callback-url)'}; "
          f"sandbox page {origin}/", flush=True)
    if args.state_file is not None:
        _autosaver = persistence.Autosaver(world, args.state_file, seeded_with).start()
    app = create_simulator_app(world, args.callback_url, duplicate_callbacks=args.duplicate_callbacks,
                               callback_workers=args.callback_workers, blueprints=[web.bp])
    app.config["SANDBOX_SERVICE_URL"] = args.service_url
    return app


def _save_on_exit(_server, _worker) -> None:
    if _autosaver is not None:
        _autosaver.stop()


def serve(args: argparse.Namespace) -> None:
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self) -> None:
            options = {"bind": f"{url_host(args.host)}:{args.port}", "workers": 1, "worker_class": "gthread",
                       "threads": args.threads, "timeout": 120,  # seeding 100k customers takes seconds
                       "graceful_timeout": 5, "keepalive": 5, "proc_name": "scrm-sandbox",
                       "loglevel": "warning", "worker_exit": _save_on_exit}
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            # Built in the worker, so the callback threads live in the process that serves.
            return build_app(args)

    Server().run()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = dict(os.environ)
    reason = refuse_real_credentials(env) or refuse_remote_bind(args.host, args.allow_remote, env)
    if reason:
        print(f"[sandbox] refusing to start: {reason}", file=sys.stderr)
        return 2
    serve(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
