"""scripts/bootstrap.sh on a machine that has python3 but neither uv nor pip."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.conftest import ROOT


def test_without_uv_or_pip_it_stops_and_names_what_to_install(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "bootstrap.sh", tmp_path / "scripts")
    # A PATH with only what the script itself runs, and a python3 without pip (Debian's
    # python3 package without python3-pip answers `python3 -m pip` with "No module named pip").
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("cat", "dirname", "flock"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    python3 = bin_dir / "python3"
    python3.write_text("#!/bin/sh\necho 'No module named pip' >&2\nexit 1\n")
    python3.chmod(0o755)
    bash = shutil.which("bash")
    assert bash

    result = subprocess.run(
        [bash, str(tmp_path / "scripts" / "bootstrap.sh")],
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 1
    assert "neither uv nor pip is available" in result.stderr
    assert "sudo apt-get install python3-pip" in result.stderr
    assert "https://astral.sh/uv/install.sh" in result.stderr
    assert not (tmp_path / ".venv").exists()
