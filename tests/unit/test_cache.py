"""The compose cache: reuse for an unchanged XR, never for a changed one, bounded in size."""

from __future__ import annotations

from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from functions.agent_executor.cache import ComposeCache
from functions.agent_executor.function import compose_response
from tests.unit.xr_helpers import load_xr, make_request


def _image_of(rsp: fnv1.RunFunctionResponse) -> str:
    deployment = resource.struct_to_dict(rsp.desired.resources["deployment"].resource)
    return str(deployment["spec"]["template"]["spec"]["containers"][0]["image"])


def test_an_unchanged_xr_is_composed_once() -> None:
    cache = ComposeCache()
    request = make_request(load_xr("minimal"))
    first = compose_response(request, cache)
    second = compose_response(request, cache)
    assert (cache.misses, cache.hits) == (1, 1)
    assert first.desired.SerializeToString(deterministic=True) == second.desired.SerializeToString(
        deterministic=True
    )


def test_a_changed_spec_is_composed_again() -> None:
    cache = ComposeCache()
    xr = load_xr("minimal")
    compose_response(make_request(xr), cache)
    xr["spec"]["image"] = "ghcr.io/bizmatters/agent-executor:0.2.0"
    rsp = compose_response(make_request(xr), cache)
    assert cache.misses == 2
    assert _image_of(rsp) == "ghcr.io/bizmatters/agent-executor:0.2.0"


def test_the_same_spec_under_another_name_is_composed_again() -> None:
    cache = ComposeCache()
    xr = load_xr("minimal")
    compose_response(make_request(xr), cache)
    xr["metadata"]["name"] = "other"
    rsp = compose_response(make_request(xr), cache)
    deployment = resource.struct_to_dict(rsp.desired.resources["deployment"].resource)
    assert deployment["metadata"]["name"] == "other"


def test_the_cache_evicts_the_least_recently_used_entry() -> None:
    cache = ComposeCache(max_entries=2)
    xrs = [load_xr("minimal") for _ in range(3)]
    for index, xr in enumerate(xrs):
        xr["metadata"]["name"] = f"xr-{index}"
        compose_response(make_request(xr), cache)
    compose_response(make_request(xrs[2]), cache)
    compose_response(make_request(xrs[0]), cache)
    assert (cache.hits, cache.misses) == (1, 4)


def test_desired_resources_of_earlier_pipeline_steps_are_kept() -> None:
    request = make_request(load_xr("minimal"))
    earlier = request.desired.resources["extra-config"]
    earlier.resource.update({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
    rsp = compose_response(request, ComposeCache())
    assert "extra-config" in rsp.desired.resources
    assert "deployment" in rsp.desired.resources
