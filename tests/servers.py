"""Real servers for tests and benchmarks: gunicorn serving the app, an SMTP server taking mail;
and ticks run at the same moment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_healthy(base_url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn not healthy after {timeout:.0f} s:\n{log.read_text()}")


@dataclass(frozen=True)
class Server:
    """A running gunicorn: where to reach it and where it logs."""

    url: str
    log_path: Path
    pid: int  # the gunicorn master; its children are the workers

    def errors(self) -> list[str]:
        """Lines of the server log that report a traceback or a worker failure."""
        markers = ("Traceback", "[ERROR]", "WORKER TIMEOUT", "Internal Server Error")
        text = self.log_path.read_text(errors="replace")
        return [line for line in text.splitlines() if any(m in line for m in markers)]


@contextmanager
def gunicorn(
    database_url: str,
    data_dir: str | Path,
    *,
    workers: int = 4,
    extra_args: Sequence[str] = (),
    secret_key: str = "test-secret",
    timeout: float = 60.0,
) -> Iterator[Server]:
    """Run `gunicorn -w <workers> wsgi:app` on the database until the block ends."""
    binary = Path(sys.executable).parent / "gunicorn"
    port = free_port()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        MASSLINE_DATA_DIR=str(data_dir),
        MASSLINE_SECRET_KEY=secret_key,
    )
    command = [str(binary), "-w", str(workers), "-b", f"127.0.0.1:{port}", *extra_args, "wsgi:app"]
    # Output goes to a file, not a pipe nobody reads, so a chatty server never blocks.
    with tempfile.NamedTemporaryFile("w+", prefix="gunicorn-", suffix=".log", delete=False) as log:
        log_path = Path(log.name)
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base_url, process, log_path, timeout)
        yield Server(base_url, log_path, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log_path.unlink(missing_ok=True)


class Inbox:
    """An aiosmtpd handler that keeps what arrives and can refuse the first attempts."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []
        self.refuse = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        if self.refuse > 0:
            self.refuse -= 1
            return "451 Try again later"
        self.received.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@contextmanager
def smtp_server(config: dict) -> Iterator[Inbox]:
    """A real SMTP server (aiosmtpd) on a free port, wired into the app's settings meanwhile."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: config[k] for k in ("MASSLINE_SMTP_HOST", "MASSLINE_SMTP_PORT")}
    config.update(MASSLINE_SMTP_HOST="127.0.0.1", MASSLINE_SMTP_PORT=port)
    try:
        yield inbox
    finally:
        config.update(saved)
        controller.stop()


def concurrent_ticks(app: object, now: object, ticks: int = 2) -> list[dict[str, int]]:
    """Run `tick` in several threads released at the same moment; what each one reported."""
    import threading

    from massline.extensions import db
    from massline.tick import run_tick

    start = threading.Barrier(ticks)
    results: list[dict[str, int]] = []

    def tick() -> None:
        with app.app_context():
            start.wait()
            results.append(run_tick(db.session, now, app.config))
            db.session.remove()

    threads = [threading.Thread(target=tick) for _ in range(ticks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == ticks, "a tick did not finish"
    return results
