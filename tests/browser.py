"""Headless Chromium for the browser tests: find it, start it, drive it over the DevTools protocol.

Chromium is driven over ``--remote-debugging-pipe`` (the DevTools protocol on two
file descriptors; no extra Python package). Used by ``test_tensorboard_browser.py``
(the real TensorBoard) and ``test_jupyterlab_browser.py`` (Run All in the real JupyterLab).
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest


def find_browser() -> str:
    name = os.environ.get("CHROMIUM", "chromium")
    found = shutil.which(name)
    if not found:
        pytest.fail(
            f"headless Chromium not found ({name!r} is not on PATH): run `bash scripts/install_browser.sh` "
            "(or set CHROMIUM=/path/to/chrome)",
            pytrace=False,
        )
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen | None) -> None:
    """Stop ``proc`` and its process group (it was started in a new session)."""
    if proc is None or proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


class DevTools:
    """A minimal client of the Chrome DevTools protocol over ``--remote-debugging-pipe``:
    Chromium reads NUL-terminated JSON commands on fd 3 and answers on fd 4."""

    def __init__(self, argv: list[str], stderr_path: Path):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # copies above fd 100, so that dup2 to 3 and 4 in the child cannot clobber them
        hi = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in (to_browser_r, from_browser_w)]
        for fd in hi:
            os.set_inheritable(fd, True)

        def child_fds():
            os.dup2(hi[0], 3)
            os.dup2(hi[1], 4)

        with stderr_path.open("wb") as err:
            # close_fds=False: subprocess would otherwise close 3 and 4 after child_fds ran.
            # Python's own descriptors are non-inheritable, so nothing else leaks.
            self.proc = subprocess.Popen(
                [*argv, "--remote-debugging-pipe", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT,
                preexec_fn=child_fds, close_fds=False, start_new_session=True,
            )  # fmt: skip
        for fd in (to_browser_r, from_browser_w, *hi):
            os.close(fd)
        self._buf = b""
        self._id = 0

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buf:
                raw, self._buf = self._buf.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self._id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply["result"]
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"Chromium did not answer {method} within {timeout} s")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"Chromium closed the DevTools pipe during {method}")
                self._buf += chunk

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self.send("Browser.close", timeout=5)
                self.proc.wait(5)
        except (OSError, RuntimeError, TimeoutError, subprocess.TimeoutExpired):
            pass
        finally:
            stop(self.proc)
            for fd in (self._to_browser, self._from_browser):
                try:
                    os.close(fd)
                except OSError:
                    pass


def chromium_argv(browser: str, workdir: Path, window: tuple[int, int]) -> list[str]:
    """The command line of a headless Chromium with its own profile folder in ``workdir``."""
    return [
        browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={workdir / 'chromium-profile'}",
        f"--window-size={window[0]},{window[1]}",
    ]  # fmt: skip
