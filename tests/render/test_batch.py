"""Rendering many claims at once (worker processes, plain-data conversion) prints exactly
what rendering each claim alone, with PyYAML's own representer, prints."""

from __future__ import annotations

import copy
import math
import os
from typing import Any

import pytest
import yaml
from crossplane.function import resource

from functions.agent_executor.admission import normalize_numbers
from functions.render import batch
from functions.render.cli import DEFAULT_COMPOSITIONS, DEFAULT_FUNCTIONS
from functions.render.engine import Engine, plain
from functions.render.errors import RenderError
from functions.render.yaml_io import load_stream
from testbed.stock_yaml import stock_dump
from tests.conftest import ROOT

TEMPLATE = yaml.safe_load(
    (ROOT / "claims" / "intelligence-deepagents" / "agent-executor.yaml").read_text()
)
# Enough claims for the batch to be split between worker processes.
COUNT = 2 * batch.MIN_PER_PROCESS + 3


def claims(count: int) -> list[dict[str, Any]]:
    made = []
    for index in range(count):
        claim = copy.deepcopy(TEMPLATE)
        claim["metadata"]["name"] = f"executor-{index:02d}"
        claim["metadata"]["namespace"] = f"team-{index % 3}"
        claim["spec"]["concurrency"] = 1 + index % 16
        made.append(claim)
    return made


def alone(engine: Engine, xr: dict[str, Any], include_results: bool = False) -> str:
    documents = engine.render(xr).documents(include_results)
    return "".join("---\n" + stock_dump(d, sort_keys=True) for d in documents)


@pytest.mark.slow
@pytest.mark.parametrize("include_results", [False, True])
def test_a_batch_prints_what_each_claim_alone_prints(include_results: bool) -> None:
    # A fresh engine: forking is only done before gRPC has made a channel.
    compositions = [d for path in DEFAULT_COMPOSITIONS for d in load_stream(path)]
    xrs = claims(COUNT)
    xrs[1]["spec"]["image"] = "ghcr.io/bizmatters/deepagents-runtime:latest"  # a warning
    with Engine(ROOT, compositions, load_stream(DEFAULT_FUNCTIONS)) as fresh:
        assert batch._processes(fresh, len(xrs)) > 1 or len(os.sched_getaffinity(0)) == 1
        outputs = list(batch.render_printed(fresh, xrs, [], include_results))
        expected = "".join(alone(fresh, xr, include_results) for xr in xrs)
    assert "".join(p.stream() for p in outputs) == expected
    assert any(r["severity"] == "SEVERITY_WARNING" for r in outputs[1].results)


@pytest.mark.slow
def test_a_failing_claim_in_a_batch_fails_at_its_turn() -> None:
    compositions = [d for path in DEFAULT_COMPOSITIONS for d in load_stream(path)]
    xrs = claims(COUNT)
    xrs[COUNT - 2]["spec"]["size"] = "huge"
    with Engine(ROOT, compositions, load_stream(DEFAULT_FUNCTIONS)) as fresh:
        printed = batch.render_printed(fresh, xrs)
        for _ in range(COUNT - 2):
            next(printed)
        with pytest.raises(RenderError, match="size"):
            next(printed)
        printed.close()


STRUCT = {
    "s": "text",
    "empty": {},
    "list": [1.0, 2.5, -0.0, "x", True, None, [], {"n": 3.0}],
    "nested": {"a": {"b": {"c": [{"d": 1e20}]}}},
    "bool": False,
    "null": None,
}


def test_plain_is_struct_to_dict_with_integral_numbers_as_ints() -> None:
    struct = resource.dict_to_struct(STRUCT)
    converted = plain(struct)
    expected = normalize_numbers(resource.struct_to_dict(struct))
    assert converted == expected
    assert list(converted) == list(expected)  # the same key order
    assert yaml.safe_dump(converted) == yaml.safe_dump(expected)  # ints stay ints


def test_plain_refuses_what_struct_to_dict_refuses() -> None:
    for bad in (math.inf, math.nan):
        struct = resource.dict_to_struct({"x": bad})
        with pytest.raises(ValueError, match="Fail to serialize"):
            resource.struct_to_dict(struct)
        with pytest.raises(ValueError, match="Fail to serialize"):
            plain(struct)
