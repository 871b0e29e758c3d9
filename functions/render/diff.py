"""`agentplane diff`: what a change does to the rendered resources of the claims.

The base is rendered from a git worktree at the merge-base of REF and HEAD (what a pull
request compares against) with that commit's own Composition and function code; the head
from the working tree. Only claims whose files changed
are rendered, unless the function, the XRD or the Composition changed, in which
case every claim is, because any of them may render differently.
"""

from __future__ import annotations

import difflib
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from functions.render.batch import Outcome, Pair, Printed, render_pairs
from functions.render.claims import Claim, find_claims, yaml_files
from functions.render.engine import Engine
from functions.render.errors import RenderError
from functions.render.gitops import git, merge_base
from functions.render.yaml_io import DocumentError, load_stream

# Changes under these paths can change every claim's rendering.
API_PATHS = ("contract/", "functions/agent_executor/", "platform/apis/")
APIS = Path("platform/apis")
FUNCTIONS = Path("platform/apis/agent-executor/function.yaml")
COMMENT_MARKER = "<!-- agentplane-diff -->"
# Run by the function too (`python -m functions.agent_executor`), yet outside API_PATHS.
FUNCTION_PACKAGE = "functions/__init__.py"


@dataclass(frozen=True)
class ResourceChange:
    """One rendered document that was added, removed or changed."""

    claim: str
    resource: str
    status: str  # added | removed | changed
    diff: str


@dataclass
class DiffResult:
    """Every change, and which claim files were compared."""

    changes: list[ResourceChange] = field(default_factory=list)
    claim_files: list[str] = field(default_factory=list)
    api_changed: bool = False


def changed_paths(repo: Path, base: str) -> list[str]:
    """Files that differ between REF and the working tree, untracked files included."""
    tracked = git(repo, "diff", "--name-only", base, "--").splitlines()
    untracked = git(repo, "ls-files", "--others", "--exclude-standard").splitlines()
    return sorted(set(tracked) | set(untracked))


@contextmanager
def worktree(repo: Path, ref: str) -> Iterator[Path]:
    """A detached, temporary worktree of `ref`, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="agentplane-base-") as tmp:
        target = Path(tmp) / "base"
        git(repo, "worktree", "add", "--detach", "--quiet", str(target), ref)
        try:
            yield target
        finally:
            git(repo, "worktree", "remove", "--force", str(target))


@dataclass
class _Side:
    """The claims of one side and the engine that renders them (None without claims)."""

    root: Path
    claims: list[Claim]
    engine: Engine | None

    def label(self, claim: Claim) -> str:
        return f"{claim.path.relative_to(self.root)} ({claim.label})"


def load_side(
    root: Path, relative: list[str], engine: Engine | None = None, function_root: Path | None = None
) -> _Side:
    """The claims in the files that exist under root, and an engine for them: `engine`, or
    one with that side's own Compositions (every `platform/apis/*/composition.yaml` there)
    and function (run from `function_root` when that holds the same code), so a kind the
    base does not know yet fails only if the base has such a claim. The function starts
    booting at once."""
    files = [root / r for r in relative if (root / r).is_file()]
    claims = find_claims(files)
    if not claims:
        return _Side(root, [], None)
    if engine is None:
        compositions = [
            document
            for path in sorted((root / APIS).glob("*/composition.yaml"))
            for document in load_stream(path)
            if document.get("kind") == "Composition"
        ]
        engine = Engine(function_root or root, compositions, load_stream(root / FUNCTIONS))
        engine.launch()
    return _Side(root, claims, engine)


def render_sides(
    base: _Side, head: _Side | DocumentError
) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]]:
    """(claim file, resource) → YAML on each side. Both sides render together, each claim
    next to its counterpart, and a document both render alike is not printed (both get
    UNCHANGED). Errors are raised as rendering the base, then loading and rendering the head,
    one after the other, would raise them: the base's first, then the head's."""
    heads = head if isinstance(head, _Side) else _Side(base.root, [], None)
    labels = [Counter(side.label(c) for c in side.claims) for side in (base, heads)]
    place: dict[str, int] = {}
    pairs: list[Pair] = []
    for claim in base.claims:
        label = base.label(claim)
        place[label] = len(pairs)
        pairs.append(Pair(claim.document, None))
    head_place = []
    for claim in heads.claims:
        label = heads.label(claim)
        unique = labels[0][label] <= 1 and labels[1][label] == 1
        if unique and label in place:
            index = place[label]
            pairs[index] = Pair(pairs[index].base, claim.document, compare=True)
        else:
            index = len(pairs)
            pairs.append(Pair(None, claim.document))
        head_place.append(index)
    outcomes: list[tuple[Outcome | None, Outcome | None]] = []
    with closing(render_pairs(base.engine, heads.engine, pairs, head_place)) as results:
        for claim, (before, after) in zip(base.claims, results, strict=False):
            if isinstance(before, RenderError):
                raise RenderError(f"{base.label(claim)}: {before}") from before
            outcomes.append((before, after))
        outcomes += results
    if isinstance(head, DocumentError):
        raise head
    for claim, index in zip(heads.claims, head_place, strict=True):
        if isinstance(error := outcomes[index][1], RenderError):
            raise RenderError(f"{heads.label(claim)}: {error}") from error
    rendered: tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]] = ({}, {})
    for side, (claims, places) in enumerate(
        ((base.claims, range(len(base.claims))), (heads.claims, head_place))
    ):
        owner = (base, heads)[side]
        for claim, index in zip(claims, places, strict=True):
            printed = outcomes[index][side]
            assert isinstance(printed, Printed)
            for key, text in printed.documents:
                rendered[side][(owner.label(claim), key)] = text
    return rendered


def compare(
    base: dict[tuple[str, str], str], head: dict[tuple[str, str], str]
) -> list[ResourceChange]:
    """Per-resource unified diffs, in claim and resource order."""
    changes = []
    for key in sorted(set(base) | set(head)):
        before, after = base.get(key), head.get(key)
        if before == after:
            continue
        status = "added" if before is None else "removed" if after is None else "changed"
        diff = "".join(
            difflib.unified_diff(
                (before or "").splitlines(keepends=True),
                (after or "").splitlines(keepends=True),
                fromfile=f"base/{key[1]}",
                tofile=f"head/{key[1]}",
            )
        )
        changes.append(ResourceChange(key[0], key[1], status, diff))
    return changes


def diff_claims(repo: Path, base: str, paths: list[Path]) -> DiffResult:
    """Render the affected claims at the merge-base of `base` and HEAD and in the working
    tree, and compare them."""
    repo = Path(git(repo, "rev-parse", "--show-toplevel").strip())
    # Against the merge-base, as a pull request is: a branch behind `base` shows only its own
    # changes, never `base`'s newer ones reversed.
    fork = merge_base(repo, base)
    changed = changed_paths(repo, fork)
    api_changed = any(p.startswith(API_PATHS) for p in changed)
    # Without paths: the tenant content in claims/ when the repo has it, else everything.
    default = ["claims"] if (repo / "claims").is_dir() else [""]
    scopes = [p.resolve().relative_to(repo).as_posix() for p in paths] or default

    def in_scope(relative: str) -> bool:
        return any(
            s in ("", ".") or relative == s or relative.startswith(s.rstrip("/") + "/")
            for s in scopes
        )

    with worktree(repo, fork) as base_root:
        if api_changed:
            candidates = {
                p.relative_to(root).as_posix()
                for root in (repo, base_root)
                for p in yaml_files([root / s for s in scopes if (root / s).exists()])
            }
        else:
            candidates = {p for p in changed if p.endswith((".yaml", ".yml"))}
        claim_files = sorted(c for c in candidates if in_scope(c))
        # Nothing the function, its APIs or its package run changed: one engine, and one
        # function run from the working tree (its bytecode already compiled), serve both sides.
        same_function = not api_changed and FUNCTION_PACKAGE not in changed
        try:
            base_side = load_side(base_root, claim_files, None, repo if same_function else None)
        except DocumentError as exc:
            raise DocumentError(f"at {base}: {exc}") from exc
        sides = [base_side]
        try:
            head_side: _Side | DocumentError
            try:
                shared = base_side.engine if same_function else None
                head_side = load_side(repo, claim_files, shared)
                sides.append(head_side)
            except DocumentError as exc:
                head_side = exc
            before, after = render_sides(base_side, head_side)
        finally:
            for engine in {id(s.engine): s.engine for s in sides if s.engine is not None}.values():
                engine.close()
    return DiffResult(compare(before, after), claim_files, api_changed)


def format_text(result: DiffResult) -> str:
    """Plain unified diffs, one block per resource."""
    if not result.changes:
        return "no changes to rendered resources\n"
    blocks = [f"=== {c.claim}: {c.resource} ({c.status})\n{c.diff}" for c in result.changes]
    return "\n".join(blocks)


def format_markdown(result: DiffResult, base: str) -> str:
    """A pull-request comment: a summary table, then a collapsible diff per resource."""
    lines = [COMMENT_MARKER, "## agentplane: rendered resource changes", ""]
    scope = (
        "every claim (the function, XRD or Composition changed)"
        if result.api_changed
        else ("claims whose files changed")
    )
    lines.append(f"Compared against the merge-base of `{base}` and HEAD; rendered {scope}.")
    lines.append("")
    if not result.changes:
        lines.append("No changes to rendered resources.")
        return "\n".join(lines) + "\n"
    counts: dict[str, dict[str, int]] = {}
    for change in result.changes:
        row = counts.setdefault(change.claim, {"added": 0, "removed": 0, "changed": 0})
        row[change.status] += 1
    lines += ["| claim | added | removed | changed |", "|---|---|---|---|"]
    lines += [
        f"| `{c}` | {n['added']} | {n['removed']} | {n['changed']} |" for c, n in counts.items()
    ]
    lines.append("")
    for change in result.changes:
        lines += [
            f"<details><summary><code>{change.claim}</code>: {change.resource} ({change.status})"
            "</summary>",
            "",
            "```diff",
            change.diff.rstrip("\n"),
            "```",
            "",
            "</details>",
            "",
        ]
    return "\n".join(lines)
