"""`agentplane migrate PATH...`: the CLI edge of the conversion (files in, YAML out).

Every YAML file named, or under a directory named, is read; each `EventDrivenService` and flat
`AgentExecutor` in it is converted. By default the converted claims are printed to stdout;
`-o FILE` writes them to a file; `--in-place` rewrites each source file with its claims
converted and its other documents (Namespaces, ExternalSecrets, ...) kept. The report (one
line per field, then a summary) goes to stderr.

Exit status: 0 every field carried over, 1 something was not carried over or the converted
claim breaks a rule of the API (it is written all the same, for the tenant to finish), 2 an
error: a file that does not parse, a claim its own API would refuse, nothing to migrate;
nothing is written then.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from functions.render.yaml_io import DocumentError, dump, load_stream

if TYPE_CHECKING:
    from functions.render.migrate.report import Conversion


@dataclass
class MigratedFile:
    """One input file: its documents and the conversions of those that were claims to migrate."""

    path: Path
    documents: list[dict[str, Any]]
    conversions: dict[int, Conversion] = field(default_factory=dict)

    def rewritten(self) -> list[dict[str, Any]]:
        """The file's documents with each migrated claim replaced by its conversion."""
        return [
            self.conversions[index].claim if index in self.conversions else document
            for index, document in enumerate(self.documents)
        ]


def yaml_text(documents: list[dict[str, Any]]) -> str:
    """Documents each preceded by `---`, keys in the order the claim was built in."""
    return "".join(f"---\n{dump(document)}" for document in documents)


def migrate_files(paths: list[Path]) -> list[MigratedFile]:
    """Read and convert every source claim under `paths`; raise before anything is written."""
    from functions.render.claims import yaml_files
    from functions.render.migrate.convert import MigrationError, convert, nothing_to_migrate
    from functions.render.migrate.sources import source_kind

    files: list[MigratedFile] = []
    skipped: list[str] = []
    for path in yaml_files(paths):
        migrated = MigratedFile(path, load_stream(path))
        for index, document in enumerate(migrated.documents):
            if source_kind(document) is None:
                skipped.append(f"{path}: {nothing_to_migrate(document)}")
                continue
            try:
                migrated.conversions[index] = convert(document)
            except MigrationError as exc:
                raise MigrationError(f"{path}: document {index + 1}: {exc}") from exc
        files.append(migrated)
    if not any(f.conversions for f in files):
        where = ", ".join(map(str, paths))
        found = "".join(f"\n  {line}" for line in skipped) or " no YAML documents"
        raise MigrationError(
            f"nothing to migrate in {where} (no EventDrivenService, no flat AgentExecutor):" + found
        )
    return files


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as exc:
        raise DocumentError(f"{path}: cannot write: {exc.strerror}") from exc


def migrate_command(args: argparse.Namespace) -> int:
    """Convert, write where asked, report on stderr; 0, or 1 when anything was not carried."""
    from functions.render.migrate.report import summary

    files = migrate_files(args.paths)
    conversions = [c for f in files for _, c in sorted(f.conversions.items())]
    written: list[Path] = []
    if args.in_place:
        for migrated in files:
            if migrated.conversions:
                _write(migrated.path, yaml_text(migrated.rewritten()))
                written.append(migrated.path)
    else:
        text = yaml_text([c.claim for c in conversions])
        if args.output is None:
            sys.stdout.write(text)
        else:
            _write(args.output, text)
            written.append(args.output)
    for migrated in files:
        for _, conversion in sorted(migrated.conversions.items()):
            for line in conversion.lines(str(migrated.path)):
                print(line, file=sys.stderr)
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    print(summary(conversions), file=sys.stderr)
    return 1 if any(c.lost for c in conversions) else 0


def add_migrate_parser(sub: Any) -> None:
    """Register `agentplane migrate` on the CLI's subparsers."""
    migrate = sub.add_parser(
        "migrate",
        help="convert zerotouch-platform EventDrivenService (and flat AgentExecutor) claims",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    migrate.add_argument("paths", nargs="+", type=Path, help="claim files or directories")
    where = migrate.add_mutually_exclusive_group()
    where.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help="write the converted claims to this file instead of stdout",
    )
    where.add_argument(
        "--in-place",
        action="store_true",
        help="rewrite each source file: its claims converted, its other documents kept "
        "(YAML comments are not kept)",
    )
    migrate.set_defaults(handler=migrate_command)
