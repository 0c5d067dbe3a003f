"""A ``carbonledger serve`` child process that can be killed with SIGKILL."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path


class ServeProcess:
    """Runs ``carbonledger serve`` in its own process group; the banner is the readiness signal."""

    def __init__(self, data_dir: Path, db_url: str | None) -> None:
        args = [
            sys.executable,
            "-m",
            "clients.cli",
            "serve",
            "--data-dir",
            str(data_dir),
            "--grpc",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
        ]
        if db_url:
            args += ["--db", db_url]
        self._log = (data_dir.parent / "serve.log").open("a")
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self.info: dict[str, str] = {}
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            key, _, value = line.strip().partition(": ")
            self.info[key] = value
            if key == "ledger-key":
                break
        if "grpc" not in self.info:
            self.kill()
            log = (data_dir.parent / "serve.log").read_text()[-3000:]
            raise RuntimeError(f"serve did not start (exit {self.proc.poll()}):\n{log}")

    @property
    def grpc(self) -> str:
        return self.info["grpc"]

    def kill(self) -> None:
        """SIGKILL the whole process group (server and its verification workers)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=60)
