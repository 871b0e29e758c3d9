"""This repository's function as a local subprocess on a free port.

Standard library only, so the CLI can launch it before importing anything heavy
and the server boots while the CLI is still loading.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from functions.render.errors import RenderError

_PORT = re.compile(r'"port": (\d+)')


class LocalFunction:
    """This repository's function, started as a subprocess on a free port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.process: subprocess.Popen[str] | None = None
        self.address = ""

    def launch(self) -> None:
        """Start the process without waiting, so it boots while the caller reads claims."""
        if self.process is not None:
            return
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "functions.agent_executor",
                "--insecure",
                "--address",
                "127.0.0.1:0",
            ],
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def start(self) -> str:
        """Start the server (once) and return its address."""
        if self.address:
            return self.address
        self.launch()
        assert self.process is not None and self.process.stdout is not None
        seen = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            seen.append(line)
            match = _PORT.search(line)
            if match:
                self.address = f"127.0.0.1:{match.group(1)}"
                return self.address
        self.stop()
        raise RenderError(f"the function did not start: {''.join(seen[-5:]).strip()}")

    def stop(self) -> None:
        """Stop the server if it runs."""
        self.address = ""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None
