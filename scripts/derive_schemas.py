"""Derive the upstream API schemas the tests validate against into tests/schemas/crds/.

`tests/schemas/sources.yaml` lists each upstream CustomResourceDefinition file: repository,
path, the commit that last changed it and the git blob id of its exact bytes. From each one
this keeps what validation needs: every served version's `openAPIV3Schema` with the prose
(`description`) taken out, and the CRD's group, names and scope. The result is still a
CustomResourceDefinition, so `crossplane resource validate` and other tools read it too.

    python scripts/derive_schemas.py --upstream DIR     # DIR/<file> for every listed file
    python scripts/derive_schemas.py --fetch            # the listed commits from GitHub
    python scripts/derive_schemas.py --check            # the committed copy is what this writes
    python scripts/derive_schemas.py --check --upstream DIR   # ... from those upstream files

`--check` without upstream files re-derives each committed copy from itself: it fails when a
copy was edited by hand into something this script would not write, when this script changed
what it keeps, or when a file is missing or not listed. With `--upstream` or `--fetch` it
compares against the real upstream files. An upstream file whose git blob id differs from the
one recorded is refused: refresh `sources.yaml` first (README.md, "Refreshing").
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "tests" / "schemas"
SOURCES = SCHEMAS / "sources.yaml"
CRDS = "crds"  # the derived files: <schemas>/crds/<file>, a folder of CRDs and nothing else
RAW_URL = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"
HEADER = (
    "# Derived by scripts/derive_schemas.py from {repo} {path}\n"
    "# at commit {commit} (git blob {blob}): served versions' schemas without descriptions.\n"
    "# Do not edit; run the script.\n"
)
# Keywords whose value is one schema, a list of schemas, or a map of name → schema.
_ONE = ("items", "additionalProperties", "not")
_LIST = ("allOf", "anyOf", "oneOf")
_MAP = ("properties", "patternProperties")
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass(frozen=True)
class Source:
    """One upstream CRD file, as `sources.yaml` records it."""

    file: str
    repo: str
    path: str
    commit: str
    blob: str

    @property
    def url(self) -> str:
        return RAW_URL.format(repo=self.repo, commit=self.commit, path=self.path)


def load_sources(path: Path = SOURCES) -> list[Source]:
    """The files `sources.yaml` lists."""
    entries = yaml.safe_load(path.read_text())["files"]
    return [Source(e["file"], e["repo"], e["path"], e["commit"], e["blob"]) for e in entries]


def git_blob_id(data: bytes) -> str:
    """What `git hash-object` prints for these bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def strip_schema(schema: Any) -> Any:
    """A copy of an OpenAPI v3 schema without `description` keywords.

    Only keywords are dropped: a property that happens to be named `description` stays.
    """
    if not isinstance(schema, dict):
        return schema
    kept: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "description":
            continue
        if key in _ONE:
            kept[key] = strip_schema(value)
        elif key in _LIST and isinstance(value, list):
            kept[key] = [strip_schema(v) for v in value]
        elif key in _MAP and isinstance(value, dict):
            kept[key] = {name: strip_schema(sub) for name, sub in value.items()}
        else:
            kept[key] = value
    return kept


def derive_crd(crd: dict[str, Any]) -> dict[str, Any]:
    """The parts of one CRD that validation reads: served versions and their schemas."""
    spec = crd["spec"]
    versions = []
    for version in spec["versions"]:
        if not version.get("served", True):
            continue  # the API server refuses it; a manifest using it must find no schema
        kept = {"name": version["name"], "served": True, "storage": version["storage"]}
        if version.get("deprecated"):
            kept["deprecated"] = True
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if schema is not None:
            kept["schema"] = {"openAPIV3Schema": strip_schema(schema)}
        versions.append(kept)
    return {
        "apiVersion": crd["apiVersion"],
        "kind": "CustomResourceDefinition",
        "metadata": {"name": crd["metadata"]["name"]},
        "spec": {
            "group": spec["group"],
            "names": spec["names"],
            "scope": spec["scope"],
            "versions": versions,
        },
    }


def derive(source: Source, text: str) -> str:
    """The derived file for one upstream (or already derived) CRD file."""
    crds = [
        derive_crd(doc)
        for doc in yaml.load_all(text, Loader=_LOADER)
        if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"
    ]
    if not crds:
        raise ValueError(f"{source.file}: no CustomResourceDefinition in it")
    body = yaml.dump_all(
        crds,
        Dumper=_DUMPER,
        sort_keys=False,
        explicit_start=True,
        default_flow_style=None,
        width=100,
    )
    header = HEADER.format(
        repo=source.repo, path=source.path, commit=source.commit, blob=source.blob
    )
    return header + body


def read_upstream(directory: Path) -> Callable[[Source], bytes]:
    """Upstream files laid out as `<directory>/<file>` (the layout `sources.yaml` names)."""
    return lambda source: (directory / source.file).read_bytes()


def fetch_upstream(source: Source) -> bytes:
    """The upstream file at its recorded commit, from GitHub."""
    with urllib.request.urlopen(source.url, timeout=60) as response:  # noqa: S310 - https only
        data: bytes = response.read()
    return data


def expected_files(
    sources: Iterable[Source], upstream: Callable[[Source], bytes] | None, schemas: Path
) -> dict[Path, str]:
    """Path → content of every derived file.

    Without upstream files each committed copy is re-derived from itself.
    """
    files: dict[Path, str] = {}
    for source in sources:
        target = schemas / CRDS / source.file
        if upstream is None:
            if not target.is_file():
                raise FileNotFoundError(f"{source.file}: listed in sources.yaml but missing")
            text = target.read_text()
        else:
            data = upstream(source)
            found = git_blob_id(data)
            if found != source.blob:
                raise ValueError(
                    f"{source.file}: upstream bytes have git blob {found}, sources.yaml "
                    f"records {source.blob}; update sources.yaml (commit, date, blob) first"
                )
            text = data.decode()
        files[target] = derive(source, text)
    return files


def derived_on_disk(schemas: Path) -> set[Path]:
    """The derived files present."""
    return set((schemas / CRDS).rglob("*.y*ml"))


def differences(files: dict[Path, str], schemas: Path) -> list[str]:
    """What differs between the derived files and the committed copy."""
    found = []
    for path, content in sorted(files.items()):
        name = path.relative_to(schemas / CRDS).as_posix()
        if not path.is_file():
            found.append(f"{name}: missing")
        elif path.read_text() != content:
            found.append(f"{name}: differs from what scripts/derive_schemas.py writes")
    for path in sorted(derived_on_disk(schemas) - set(files)):
        found.append(f"{path.relative_to(schemas / CRDS).as_posix()}: not listed in sources.yaml")
    return found


def write(files: dict[Path, str], schemas: Path) -> None:
    """Write the derived files and remove the ones no longer listed."""
    for path in derived_on_disk(schemas) - set(files):
        path.unlink()
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--upstream", type=Path, metavar="DIR", help="upstream files as DIR/<file>")
    where.add_argument("--fetch", action="store_true", help="download the recorded commits")
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    parser.add_argument("--schemas", type=Path, default=SCHEMAS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not (args.check or args.upstream or args.fetch):
        parser.error("give --upstream DIR or --fetch to derive, or --check")

    upstream = read_upstream(args.upstream) if args.upstream else None
    if args.fetch:
        upstream = fetch_upstream
    try:
        files = expected_files(load_sources(args.schemas / SOURCES.name), upstream, args.schemas)
    except (OSError, ValueError) as exc:
        print(f"derive_schemas: {exc}", file=sys.stderr)
        return 2
    if args.check:
        found = differences(files, args.schemas)
        for line in found:
            print(f"derive_schemas: {line}", file=sys.stderr)
        return 1 if found else 0
    write(files, args.schemas)
    return 0


if __name__ == "__main__":
    sys.exit(main())
