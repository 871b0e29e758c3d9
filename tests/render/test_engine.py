"""The render engine: which function it calls, and how it reports failure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from functions.agent_executor.xrd import composition, development_function, function_package
from functions.render.engine import Engine
from functions.render.errors import RenderError
from tests.conftest import ROOT, XR_FIXTURES
from tests.support.function_server import function_server

pytestmark = pytest.mark.slow


def minimal_xr() -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((XR_FIXTURES / "minimal.yaml").read_text())
    return loaded


def test_development_runtime_function_is_called_at_its_target() -> None:
    with function_server("--insecure") as port:
        function = development_function(target=f"127.0.0.1:{port}")
        with Engine(ROOT, composition(), [function]) as engine:
            rendered = engine.render(minimal_xr())
            assert engine.local.process is None, "the engine must not start its own function"
    kinds = [r["kind"] for r in rendered.resources]
    assert "Deployment" in kinds and "ScaledObject" in kinds


def test_a_function_that_is_not_ours_suggests_the_crossplane_engine() -> None:
    other = function_package("1.0.0")
    other["metadata"]["name"] = "function-patch-and-transform"
    pipeline = composition()
    pipeline["spec"]["pipeline"][0]["functionRef"]["name"] = "function-patch-and-transform"
    with (
        Engine(ROOT, pipeline, [other]) as engine,
        pytest.raises(RenderError, match="--engine crossplane"),
    ):
        engine.render(minimal_xr())


def test_a_fatal_result_fails_the_render_with_the_field_named(tmp_path: Path) -> None:
    bad = minimal_xr()
    bad["spec"] = {"image": "ghcr.io/x/y:1", "size": "huge"}
    claim = tmp_path / "bad.yaml"
    claim.write_text(yaml.safe_dump(bad))
    proc = subprocess.run(
        [sys.executable, "-m", "functions.render", "render", str(claim)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "spec.size: must be one of" in proc.stderr
    assert str(claim) in proc.stderr
    assert proc.stdout == ""
