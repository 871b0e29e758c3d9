"""`agentplane` installed from the wheel, as a tenant installs it (`uv tool install`, `pipx`):
it carries the platform's data and works outside any checkout.

The wheel is built and installed into a fresh virtual environment once for the module.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

DATA = "functions/render/platform_data"
ES = "claims/intelligence-deepagents/external-secrets/llm-keys.yaml"


def uv() -> str:
    """uv on PATH, or the one `scripts/bootstrap.sh` put in `.tools/` beside the venv."""
    found = shutil.which("uv")
    if found:
        return found
    beside_venv = Path(sys.prefix).resolve().parent / ".tools" / "bin" / "uv"
    if beside_venv.is_file():
        return str(beside_venv)
    pytest.fail("uv is needed to build and install the wheel (make install puts it in .tools/)")


@dataclass(frozen=True)
class Installed:
    """The built wheel, the environment it is installed in, and a tenant folder outside
    the checkout."""

    wheel: Path
    agentplane: Path
    tenant: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        return subprocess.run(
            [str(self.agentplane), *args],
            cwd=self.tenant,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    tool = uv()
    subprocess.run(
        [tool, "build", "--wheel", "--quiet", "-o", str(work / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (work / "dist").glob("agentplane-*.whl")
    subprocess.run([tool, "venv", "--quiet", str(work / "venv")], check=True, capture_output=True)
    subprocess.run(
        [
            tool,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(work / "venv/bin/python"),
            f"agentplane[cli] @ {wheel.as_uri()}",
        ],
        check=True,
        capture_output=True,
    )
    tenant = work / "tenant"
    shutil.copytree(ROOT / "claims", tenant / "claims")
    return Installed(wheel, work / "venv/bin/agentplane", tenant)


@pytest.mark.parametrize(
    "member",
    [
        f"{DATA}/apis/agent-executor/definition.yaml",
        f"{DATA}/apis/agent-executor/composition.yaml",
        f"{DATA}/apis/agent-executor/function.yaml",
        f"{DATA}/apis/postgres-instance/definition.yaml",
        f"{DATA}/apis/postgres-instance/composition.yaml",
        f"{DATA}/apis/dragonfly-instance/definition.yaml",
        f"{DATA}/apis/dragonfly-instance/composition.yaml",
        f"{DATA}/apis/agent-executor/schema.json",
        f"{DATA}/crds/external-secrets.io/external-secrets.io_externalsecrets.yaml",
    ],
)
def test_the_wheel_carries_the_platform_data(installed: Installed, member: str) -> None:
    assert member in zipfile.ZipFile(installed.wheel).namelist()


def test_validate_passes_the_example_claims_outside_a_checkout(installed: Installed) -> None:
    proc = installed.run("validate", "claims")
    assert (proc.returncode, proc.stderr) == (0, "12 file(s), 6 claim(s): ok\n"), proc.stdout


def test_validate_checks_external_secrets_against_the_packaged_crd(installed: Installed) -> None:
    path = installed.tenant / ES
    original = path.read_text()
    path.write_text(original.replace("secretStoreRef", "secretStorRef"))
    try:
        proc = installed.run("validate", "claims")
    finally:
        path.write_text(original)
    assert proc.returncode == 1
    assert f"{ES}: spec.secretStorRef: unknown field" in proc.stdout.splitlines()


def test_render_composes_a_claim_outside_a_checkout(installed: Installed) -> None:
    proc = installed.run("render", "claims/intelligence-deepagents/postgres.yaml")
    assert proc.returncode == 0, proc.stderr
    kinds = [d["kind"] for d in yaml.safe_load_all(proc.stdout) if d]
    assert kinds[0] == "PostgresInstance"
    assert "Cluster" in kinds
