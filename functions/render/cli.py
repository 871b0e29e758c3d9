"""`agentplane`: validate, render and diff the platform's claims (AgentExecutor,
PostgresInstance, DragonflyInstance) locally, with no cluster; submit and follow jobs on a
running executor (`agentplane jobs`); see its workers' health (`agentplane status`)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any, TextIO

from functions.jobs_cli.commands import add_jobs_parser
from functions.render.errors import RenderError
from functions.render.findings import Finding, Severity, ordered, split_message
from functions.render.gitops import GitError
from functions.render.local_function import LocalFunction
from functions.render.migrate.command import add_migrate_parser
from functions.render.platform_data import CHECKOUT, apis_dir, crd_dir
from functions.render.yaml_io import DocumentError, load_stream
from functions.status_cli.commands import add_status_parser

# Where the function is started from: the checkout, or site-packages for an installed wheel.
ROOT = CHECKOUT
APIS = apis_dir()
# Folders of the APIs under platform/apis/ (as functions/agent_executor/xrd.py names them):
# each holds the kind's XRD and Composition. Kept here, not imported, so the CLI starts fast.
API_SLUGS = ("agent-executor", "postgres-instance", "dragonfly-instance")
DEFAULT_COMPOSITION = APIS / "agent-executor" / "composition.yaml"
DEFAULT_COMPOSITIONS = tuple(APIS / slug / "composition.yaml" for slug in API_SLUGS)
DEFAULT_FUNCTIONS = APIS / "agent-executor" / "function.yaml"
DEFAULT_XRD = APIS / "agent-executor" / "definition.yaml"
DEFAULT_XRDS = tuple(APIS / slug / "definition.yaml" for slug in API_SLUGS)


def _single(path: Path, kind: str) -> dict[str, object]:
    docs = [d for d in load_stream(path) if d.get("kind") == kind]
    if len(docs) != 1:
        raise DocumentError(f"{path}: expected one {kind}, found {len(docs)}")
    return docs[0]


def _every(paths: list[Path], kind: str) -> list[dict[str, object]]:
    """Every document of `kind` in the files; at least one."""
    docs = [d for path in paths for d in load_stream(path) if d.get("kind") == kind]
    if not docs:
        raise DocumentError(f"{', '.join(map(str, paths))}: no {kind} found")
    return docs


def _compositions(args: argparse.Namespace) -> list[Path]:
    return [args.composition] if args.composition else list(DEFAULT_COMPOSITIONS)


def _type_errors(files: list[tuple[Path, list[dict[str, Any]]]]) -> list[Finding]:
    """What the API server would refuse before any function runs: unknown kinds and versions
    of the platform's group (and EventDrivenService), as `validate` words them."""
    from functions.render.api_catalog import catalog_from, type_findings

    catalog = catalog_from(_every(list(DEFAULT_XRDS), "CompositeResourceDefinition"))
    return [f for path, documents in files for f in type_findings(path, documents, catalog)]


def _print_findings(findings: list[Finding], stream: TextIO) -> None:
    for finding in ordered(findings):
        print(finding, file=stream)


def render_command(args: argparse.Namespace) -> int:
    """Print the rendered stream of every claim found under the given paths; the function's
    warnings go to stderr. 1, rendering nothing, when a document's type is not served."""
    if args.engine == "crossplane":
        return _delegate(args)
    # Launch the function first: it boots while this process imports the engine.
    local = LocalFunction(ROOT)
    local.launch()
    from functions.render.claims import claims_in, yaml_files

    # Each file read once, for the type check and for the claims.
    files = [(path, load_stream(path)) for path in yaml_files(args.paths)]
    errors = _type_errors(files)
    if errors:
        local.stop()
        _print_findings(errors, sys.stderr)
        return 1
    from functions.render.batch import render_printed
    from functions.render.engine import Engine

    compositions = _every(_compositions(args), "Composition")
    functions = [d for d in load_stream(args.functions) if d.get("kind") == "Function"]
    observed = load_stream(args.observed_resources) if args.observed_resources else []
    out = []
    warnings: list[Finding] = []
    with Engine(ROOT, compositions, functions, local=local) as engine:
        claims = claims_in(files)
        if not claims:
            raise DocumentError(
                "no AgentExecutor, PostgresInstance or DragonflyInstance found in "
                + ", ".join(map(str, args.paths))
            )
        documents = [c.document for c in claims]
        with closing(
            render_printed(engine, documents, observed, args.include_function_results)
        ) as results:
            for claim in claims:
                try:
                    rendered = next(results)
                except RenderError as exc:
                    raise RenderError(f"{claim.path} ({claim.label}): {exc}") from exc
                out.append(rendered.stream())
                warnings += [
                    Finding(claim.path, *split_message(r["message"]), claim.index, Severity.WARNING)
                    for r in rendered.results
                    if r["severity"] == "SEVERITY_WARNING"
                ]
    sys.stdout.write("".join(out))
    _print_findings(warnings, sys.stderr)
    return 0


def validate_command(args: argparse.Namespace) -> int:
    """Print `file: field.path: reason` for every problem and warning; 1 when a problem."""
    # Imported here: the CEL engine and the kubernetes package take ~0.7 s to load.
    from functions.render.validate import validate_paths

    xrds = _every(args.xrd or list(DEFAULT_XRDS), "CompositeResourceDefinition")
    report = validate_paths(args.paths, xrds, crd_dir())
    _print_findings(report.findings, sys.stdout)
    verdict = "ok" if report.ok else f"{len(report.errors)} problem(s)"
    if report.warnings:
        verdict += f", {len(report.warnings)} warning(s)"
    print(f"{report.files} file(s), {report.claims} claim(s): {verdict}", file=sys.stderr)
    return 0 if report.ok else 1


def diff_command(args: argparse.Namespace) -> int:
    """Print per-resource diffs against --base; 0 no change, 1 changes."""
    from functions.render.diff import diff_claims, format_markdown, format_text

    result = diff_claims(Path.cwd(), args.base, args.paths)
    if args.format == "markdown":
        sys.stdout.write(format_markdown(result, args.base))
    else:
        sys.stdout.write(format_text(result))
    return 1 if result.changes else 0


def _delegate(args: argparse.Namespace) -> int:
    from functions.render.claims import find_claims

    binary = shutil.which("crossplane")
    if binary is None:
        raise RenderError("--engine crossplane needs the `crossplane` CLI on PATH")
    from functions.render.engine import type_ref

    by_type = {
        type_ref(composition): path
        for path in _compositions(args)
        for composition in load_stream(path)
        if composition.get("kind") == "Composition"
    }
    status = 0
    for claim in find_claims(args.paths):
        key = (str(claim.document.get("apiVersion", "")), claim.kind)
        if key not in by_type:
            raise RenderError(f"{claim.path}: no Composition composes {key[0]} {key[1]}")
        cmd = [binary, "render", str(claim.path), str(by_type[key]), str(args.functions)]
        if args.observed_resources:
            cmd += ["--observed-resources", str(args.observed_resources)]
        if args.include_function_results:
            cmd.append("--include-function-results")
        status = max(status, subprocess.run(cmd, check=False).returncode)
    return status


def build_parser() -> argparse.ArgumentParser:
    """The `agentplane` argument parser."""
    parser = argparse.ArgumentParser(prog="agentplane", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    render = sub.add_parser("render", help="render claims as `crossplane render` would")
    render.add_argument("paths", nargs="+", type=Path, help="claim files or directories")
    render.add_argument(
        "--composition",
        type=Path,
        default=None,
        help="file of Compositions; each claim takes the one for its kind "
        "[the platform's, platform/apis/*/composition.yaml]",
    )
    render.add_argument("--functions", type=Path, default=DEFAULT_FUNCTIONS)
    render.add_argument("--observed-resources", "-o", type=Path, default=None)
    render.add_argument("--include-function-results", "-r", action="store_true")
    render.add_argument("--engine", choices=("builtin", "crossplane"), default="builtin")
    render.set_defaults(handler=render_command)

    validate = sub.add_parser("validate", help="check YAML files and claims against the XRD")
    validate.add_argument("paths", nargs="*", type=Path, default=[Path(".")])
    validate.add_argument(
        "--xrd",
        type=Path,
        action="append",
        default=None,
        help="XRD file (repeatable) [the platform's, platform/apis/*/definition.yaml]",
    )
    validate.set_defaults(handler=validate_command)

    diff = sub.add_parser("diff", help="rendered-resource diff of the claims changed since REF")
    diff.add_argument("paths", nargs="*", type=Path, help="limit to these files or directories")
    diff.add_argument("--base", required=True, help="git ref to compare against, e.g. origin/main")
    diff.add_argument("--format", choices=("text", "markdown"), default="text")
    diff.set_defaults(handler=diff_command)

    add_migrate_parser(sub)
    add_jobs_parser(sub)
    add_status_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: 0 success, 1 findings or changes, 2 on any error (one line naming its cause)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except (DocumentError, RenderError, GitError) as exc:
        print(f"agentplane: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
