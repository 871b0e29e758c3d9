"""Rendering and printing many XRs at once, on every core, exactly as one at a time.

Most of a render's time is this process's own: turning the function's Structs into plain
data and printing them as YAML, both pure Python under one GIL. On Linux a batch is
therefore split between forked worker processes, each with its own channels to the function
processes the parent started; each prints its XRs and sends back the text, and the parent
yields them in input order. Elsewhere, or for a handful of XRs, the engine's threads render
and this thread prints, as before.

`render_pairs` does the same for `diff`: each claim is rendered at the base and in the head
by the same worker, which prints only the documents that differ.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import sys
from collections.abc import Callable, Generator
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
    _set_job([_side(engine)], xrs, observed, include_results)
    yield from _forked(processes, len(xrs), _render_chunk)


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
class Pair:
    """One claim at the base and in the head (None where a side lacks it). `compare`: the
    claim is the only one of its name on both sides, so documents the two sides render
    alike need not be printed."""

    base: dict[str, Any] | None
    head: dict[str, Any] | None
    compare: bool = False


# The text given, on both sides of a compared pair, to a document rendered alike on both:
# printing never gives an empty document.
UNCHANGED = ""
Outcome = Printed | RenderError


def render_pairs(
    base: Engine | None, head: Engine | None, pairs: list[Pair], head_order: list[int]
) -> Generator[tuple[Outcome | None, Outcome | None], None, None]:
    """Render each pair's claims at the base and in the head and yield both outcomes, in
    input order; an engine may be None only when no pair has a claim on its side.

    The base's claims are in pair order, the head's in `head_order` (indices of pairs). Where
    a side fails, that side's later claims may go unrendered (None): its first error, in
    its own order, is the one to report.
    """
    engines = (base, head)
    count = sum((p.base is not None) + (p.head is not None) for p in pairs)
    processes = min(_processes(e, count) for e in engines if e is not None) if count else 1
    if processes > 1:
        sides = [_side(e) if e is not None else None for e in engines]
        _set_job(sides, [], pairs=pairs)
        yield from _forked(processes, len(pairs), _render_pair_chunk)
        return
    # One side after the other, each stopping at its first error, as before there were
    # workers: a function that does not start fails once, not once per claim.
    rendered: list[list[Rendered | RenderError | None]] = [[None] * len(pairs) for _ in engines]
    orders = ([i for i, p in enumerate(pairs) if p.base is not None], head_order)
    for side, (engine, order) in enumerate(zip(engines, orders, strict=True)):
        for index in order:
            xr = (pairs[index].base, pairs[index].head)[side]
            if engine is None or xr is None:
                continue
            try:
                rendered[side][index] = engine.render(xr)
            except RenderError as exc:
                rendered[side][index] = exc
                break
    for index, pair in enumerate(pairs):
        yield _printed_pair(pair, rendered[0][index], rendered[1][index])


def _render_pair(engines: list[Engine | None], pair: Pair) -> tuple[Outcome | None, Outcome | None]:
    sides: list[Rendered | RenderError | None] = []
    for engine, xr in zip(engines, (pair.base, pair.head), strict=True):
        if xr is None or engine is None:
            sides.append(None)
            continue
        try:
            sides.append(engine.render(xr))
        except RenderError as exc:
            sides.append(exc)
    return _printed_pair(pair, *sides)


def _printed_pair(
    pair: Pair, before: Rendered | RenderError | None, after: Rendered | RenderError | None
) -> tuple[Outcome | None, Outcome | None]:
    if not (pair.compare and isinstance(before, Rendered) and isinstance(after, Rendered)):
        return _outcome(before), _outcome(after)
    # Equal pickles mean equal values, types, key order and sharing, hence equal YAML; unequal
    # ones only mean printing both and comparing the text, as for any other document.
    base_docs = [(document_key(d), d) for d in before.documents()]
    head_docs = [(document_key(d), d) for d in after.documents()]
    base_forms = {key: pickle.dumps(d, pickle.HIGHEST_PROTOCOL) for key, d in base_docs}
    same = {
        key
        for key, d in head_docs
        if base_forms.get(key) == pickle.dumps(d, pickle.HIGHEST_PROTOCOL)
    }

    def texts(docs: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, str]]:
        return [(k, UNCHANGED if k in same else dump(d, sort_keys=True)) for k, d in docs]

    return Printed(texts(base_docs), before.results), Printed(texts(head_docs), after.results)


def _outcome(side: Rendered | RenderError | None) -> Outcome | None:
    return printed(side) if isinstance(side, Rendered) else side


@dataclass(frozen=True)
class _Side:
    """What a worker needs to make an engine like one of the parent's."""

    root: Any
    compositions: list[dict[str, Any]]
    functions: list[dict[str, Any]]
    address: str

    def engine(self) -> Engine:
        local = LocalFunction(self.root)
        local.address = self.address  # the parent's function; this worker never stops it
        return Engine(self.root, self.compositions, self.functions, local=local)


def _side(engine: Engine) -> _Side:
    return _Side(
        engine.local.root,
        engine.compositions,
        list(engine.functions.values()),
        engine.local.address,
    )


@dataclass(frozen=True)
class _Job:
    sides: list[_Side | None]
    xrs: list[dict[str, Any]]
    observed: list[dict[str, Any]]
    include_results: bool
    pairs: list[Pair]


# The job forked workers inherit, and a worker's engines once made.
_job: _Job | None = None
_engines: list[Engine | None] = []


def _set_job(
    sides: list[_Side | None],
    xrs: list[dict[str, Any]],
    observed: list[dict[str, Any]] | None = None,
    include: bool = False,
    pairs: list[Pair] | None = None,
) -> None:
    global _job
    _job = _Job(sides, xrs, observed or [], include, pairs or [])


def _forked(
    processes: int, count: int, work: Callable[[tuple[int, int]], list[Any]]
) -> Generator[Any, None, None]:
    """Run `work` over chunks of the job's `count` items in forked workers; yield each item's
    outcome in order, raising a RenderError outcome of `render_printed` at its turn."""
    global _job
    chunks = [(start, min(start + CHUNK, count)) for start in range(0, count, CHUNK)]
    # Objects that outlive the fork stay out of the workers' garbage collections (which
    # would also copy every page they touch).
    gc.freeze()
    pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"))
    try:
        for outcomes in pool.map(work, chunks):
            for outcome in outcomes:
                if isinstance(outcome, RenderError):
                    raise outcome
                yield outcome
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()
        _job = None


def _worker_engines() -> tuple[_Job, list[Engine | None]]:
    assert _job is not None
    if not _engines:
        _engines.extend(side.engine() if side is not None else None for side in _job.sides)
    return _job, _engines


def _render_chunk(bounds: tuple[int, int]) -> list[Printed | RenderError]:
    """In a worker: render and print XRs `bounds[0]` to `bounds[1]` of the job."""
    job, (engine,) = _worker_engines()
    assert engine is not None
    outcomes: list[Printed | RenderError] = []
    for xr in job.xrs[bounds[0] : bounds[1]]:
        try:
            outcomes.append(printed(engine.render(xr, job.observed), job.include_results))
        except RenderError as exc:
            outcomes.append(exc)
    return outcomes


def _render_pair_chunk(bounds: tuple[int, int]) -> list[tuple[Outcome | None, Outcome | None]]:
    """In a worker: render pairs `bounds[0]` to `bounds[1]` of the job."""
    job, engines = _worker_engines()
    return [_render_pair(engines, pair) for pair in job.pairs[bounds[0] : bounds[1]]]
