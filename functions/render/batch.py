"""Rendering and printing many XRs at once, on every core, exactly as one at a time.

Most of a render's time is this process's own: turning the function's Structs into plain
data and printing them as YAML, both pure Python under one GIL. On Linux a batch is
therefore split between forked worker processes, each with its own channel to the one
function process the parent started; each prints its XRs and sends back the text, and the
parent yields them in input order. Elsewhere, or for a handful of XRs, the engine's
threads render and this thread prints, as before.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
from collections.abc import Generator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from functions.render.engine import Engine, Rendered
from functions.render.errors import RenderError
from functions.render.local_function import LocalFunction
from functions.render.yaml_io import dump

# Worker processes at most (the function is one process: more would only queue on it), the
# fewest XRs worth forking for, and how many XRs a worker takes at a time.
MAX_PROCESSES = 4
MIN_PER_PROCESS = 8
CHUNK = 16


@dataclass(frozen=True)
class Printed:
    """One XR's output: each document's key and YAML (sorted keys, no `---`), and the
    pipeline's results."""

    documents: list[tuple[str, str]]
    results: list[dict[str, Any]]

    def stream(self) -> str:
        """The documents as `crossplane render` prints them, each after `---`."""
        return "".join(f"---\n{text}" for _, text in self.documents)


def document_key(document: dict[str, Any]) -> str:
    """`Kind namespace/name` (or `Kind name`) of a rendered document."""
    meta = document.get("metadata", {}) or {}
    where = (
        f"{meta.get('namespace')}/{meta.get('name')}" if meta.get("namespace") else meta.get("name")
    )
    return f"{document.get('kind')} {where}"


def printed(rendered: Rendered, include_results: bool = False) -> Printed:
    """A rendered XR's documents printed, with their keys."""
    documents = [
        (document_key(d), dump(d, sort_keys=True)) for d in rendered.documents(include_results)
    ]
    return Printed(documents, rendered.results)


def render_printed(
    engine: Engine,
    xrs: list[dict[str, Any]],
    observed: list[dict[str, Any]] | None = None,
    include_results: bool = False,
) -> Generator[Printed, None, None]:
    """Render and print XRs, yielding them in input order; an XR's RenderError is raised
    when its turn comes, as `Engine.render_many` does."""
    processes = _processes(engine, len(xrs))
    if processes <= 1:
        for rendered in engine.render_many(xrs, observed):
            yield printed(rendered, include_results)
        return
    yield from _forked(engine, xrs, observed or [], include_results, processes)


def _processes(engine: Engine, count: int) -> int:
    """How many worker processes to fork for `count` XRs; 1 means none."""
    if sys.platform != "linux" or count < 2 * MIN_PER_PROCESS:
        return 1
    cores = len(os.sched_getaffinity(0))
    wanted = min(cores, MAX_PROCESSES, count // MIN_PER_PROCESS)
    # Forking after gRPC has made a channel is unsafe; and every function the pipelines call
    # must be running before the fork, or each worker would start its own.
    if wanted <= 1 or engine.channels or not engine.start_functions():
        return 1
    return wanted


@dataclass(frozen=True)
class _Job:
    root: Any
    compositions: list[dict[str, Any]]
    functions: list[dict[str, Any]]
    address: str
    xrs: list[dict[str, Any]]
    observed: list[dict[str, Any]]
    include_results: bool


# The job a forked worker inherits, and the worker's engine once made.
_job: _Job | None = None
_engine: Engine | None = None


def _forked(
    engine: Engine,
    xrs: list[dict[str, Any]],
    observed: list[dict[str, Any]],
    include_results: bool,
    processes: int,
) -> Generator[Printed, None, None]:
    global _job
    _job = _Job(
        engine.local.root,
        engine.compositions,
        list(engine.functions.values()),
        engine.local.address,
        xrs,
        observed,
        include_results,
    )
    chunks = [(start, min(start + CHUNK, len(xrs))) for start in range(0, len(xrs), CHUNK)]
    # Objects that outlive the fork stay out of the workers' garbage collections (which
    # would also copy every page they touch).
    gc.freeze()
    pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"))
    try:
        for outcomes in pool.map(_render_chunk, chunks):
            for outcome in outcomes:
                if isinstance(outcome, RenderError):
                    raise outcome
                yield outcome
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()
        _job = None


def _render_chunk(bounds: tuple[int, int]) -> list[Printed | RenderError]:
    """In a worker: render and print XRs `bounds[0]` to `bounds[1]` of the job."""
    global _engine
    assert _job is not None
    if _engine is None:
        local = LocalFunction(_job.root)
        local.address = _job.address  # the parent's function; this worker never stops it
        _engine = Engine(_job.root, _job.compositions, _job.functions, local=local)
    outcomes: list[Printed | RenderError] = []
    for xr in _job.xrs[bounds[0] : bounds[1]]:
        try:
            outcomes.append(printed(_engine.render(xr, _job.observed), _job.include_results))
        except RenderError as exc:
            outcomes.append(exc)
    return outcomes
