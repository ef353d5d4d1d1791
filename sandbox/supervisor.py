"""The dev stack's processes in one terminal: started each in a session of its own, their output
combined under a name column, one banner once they are up, and stopped in order.

Every child runs in its own session, so the SIGINT a terminal sends its foreground process group on
Ctrl-C reaches the dev stack alone; the dev stack then stops the children itself: the web, the
workers and the scheduler first (SIGTERM: gunicorn drains, RQ workers finish the job in hand),
then the simulator (which saves its world), and the caller stops Redis last. Nothing is left
talking to a Redis that is already gone, so stopping prints no errors.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PROBE_AGENT = "scrm-devstack-probe"  # the readiness probe's User-Agent: its access-log line is not shown
# Child output the dev stack does not pass on: the banner and its own start line say it once.
HIDDEN = ("SANDBOX MODE: no WECOM_* credentials", PROBE_AGENT)
SETTLE_QUIET = 1.0    # s without output after the service answers: start-up has settled...
SETTLE_FIRST = 5.0    # ...once every child has said something, or this long after the service answered
SETTLE_LIMIT = 20.0   # s after the service answers: the banner comes anyway
STOP_TIMEOUT = 20.0   # s a process may take to stop before it is killed


def say(message: str) -> None:
    print(f"[scrm] {message}", flush=True)


class Stopper:
    """Ctrl-C (SIGINT) and SIGTERM ask the dev stack to stop; from the very start, so an early
    Ctrl-C is a clean stop too, never a KeyboardInterrupt traceback."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, *_args) -> None:
        self.requested.set()


def port_taken(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def run_once(cmd: list[str], cwd: Path, env: dict[str, str], stopper: Stopper) -> tuple[int | None, str]:
    """Run a one-off command (migrations, …) quietly: (exit code, its output); None if Ctrl-C."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    reader = threading.Thread(target=lambda: setattr(proc, "captured", proc.stdout.read()), daemon=True)
    reader.start()
    while proc.poll() is None:
        if stopper.requested.wait(0.1):
            proc.terminate()
            proc.wait(STOP_TIMEOUT)
            return None, ""
    reader.join(5)
    return proc.returncode, getattr(proc, "captured", "")


@dataclass
class Child:
    name: str
    cmd: list[str]
    proc: subprocess.Popen | None = None
    lines: int = 0
    pump: threading.Thread | None = field(default=None, repr=False)


class Supervisor:
    def __init__(self, cwd: Path, env: dict[str, str], stopper: Stopper) -> None:
        self.cwd, self.env, self.stopper = cwd, env, stopper
        self.children: list[Child] = []
        self.width = 9
        self.last_output = time.monotonic()
        self._out = threading.Lock()

    # ---- output -----------------------------------------------------------------------------

    def _pump(self, child: Child) -> None:
        for line in iter(child.proc.stdout.readline, ""):
            if any(marker in line for marker in HIDDEN):
                continue
            with self._out:
                child.lines += 1
                self.last_output = time.monotonic()
                sys.stdout.write(f"{child.name:>{self.width}} | {line}")
                sys.stdout.flush()

    # ---- start --------------------------------------------------------------------------------

    def start(self, commands: dict[str, list[str]]) -> None:
        self.width = max(self.width, *(len(name) for name in commands))
        for name, cmd in commands.items():
            child = Child(name, cmd)
            child.proc = subprocess.Popen(cmd, cwd=self.cwd, env=self.env, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True, start_new_session=True)
            child.pump = threading.Thread(target=self._pump, args=(child,), name=f"pump-{name}", daemon=True)
            child.pump.start()
            self.children.append(child)

    def dead(self) -> list[str]:
        return [child.name for child in self.children if child.proc.poll() is not None]

    def wait_until(self, ready: Callable[[], bool], timeout: float) -> bool:
        """Poll ``ready`` until it is true; False on timeout, Ctrl-C or a child's death."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stopper.requested.is_set() or self.dead():
                return False
            try:
                if ready():
                    return True
            except OSError:
                pass
            self.stopper.requested.wait(0.25)
        return False

    def settle(self) -> None:
        """Wait until the children have said what they say at start (no output for a moment)."""
        started = time.monotonic()
        while time.monotonic() - started < SETTLE_LIMIT and not self.stopper.requested.is_set() and not self.dead():
            heard_all = all(c.lines for c in self.children) or time.monotonic() - started >= SETTLE_FIRST
            if heard_all and time.monotonic() - self.last_output >= SETTLE_QUIET:
                return
            self.stopper.requested.wait(0.2)

    # ---- run and stop -------------------------------------------------------------------------

    def watch(self) -> int:
        """Until Ctrl-C (0) or a child's death (1)."""
        while not self.stopper.requested.wait(0.5):
            dead = self.dead()
            if dead:
                say(f"{', '.join(dead)} exited; stopping everything")
                return 1
        return 0

    def stop(self, *, last: tuple[str, ...] = ()) -> None:
        """SIGTERM every child but ``last`` and wait for them; then ``last`` likewise."""
        first = [c for c in self.children if c.name not in last]
        for group in (first, [c for c in self.children if c.name in last]):
            for child in group:
                if child.proc.poll() is None:
                    child.proc.send_signal(signal.SIGTERM)
            for child in group:
                try:
                    child.proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    say(f"{child.name} did not stop within {STOP_TIMEOUT:.0f} s; killing it")
                    self._kill(child)
                self._kill_leftovers(child)
        for child in self.children:
            child.pump.join(2)

    @staticmethod
    def _kill(child: Child) -> None:
        try:
            os.killpg(child.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        child.proc.wait(5)

    @staticmethod
    def _kill_leftovers(child: Child) -> None:
        """A process the child started and left behind (its session shares the child's pid)."""
        try:
            os.killpg(child.proc.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass


def http_ok(url: str, timeout: float = 5.0) -> bool:
    request = urllib.request.Request(url, headers={"User-Agent": PROBE_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback URL
            return response.status == 200
    except OSError:
        return False


def tcp_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False
