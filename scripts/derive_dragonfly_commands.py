"""Derive the Redis commands Dragonfly documents as supported into tests/data/dragonfly/.

The source is the compatibility table of Dragonfly's documentation site
(dragonflydb/documentation, `src/components/CompatibilityTable/data.json`), read from a git
checkout or bare mirror of that repository at a commit. Only command names and their support
level are kept, with the source recorded, so the worker's command list can be checked against
what Dragonfly serves without network access (tests/worker/test_redis_commands.py).

    python scripts/derive_dragonfly_commands.py --git-dir PATH [--commit REV]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tests" / "data" / "dragonfly" / "commands.json"
REPOSITORY = "dragonflydb/documentation"
SOURCE_PATH = "src/components/CompatibilityTable/data.json"


def _git(git_dir: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), *args], check=True, capture_output=True, text=True
    ).stdout


def derive(git_dir: Path, commit: str) -> dict[str, object]:
    """The record written to OUTPUT: source, commit, date and {command: support}."""
    sha = _git(git_dir, "rev-parse", f"{commit}^{{commit}}").strip()
    date = _git(git_dir, "show", "-s", "--format=%cs", sha).strip()
    rows = json.loads(_git(git_dir, "show", f"{sha}:{SOURCE_PATH}"))
    support: dict[str, str] = {}
    for row in rows:
        # A command is listed once per family that has it (DEL under Generic and JSON);
        # the broadest support given wins.
        name, level = str(row["command"]).upper(), str(row["support"])
        if support.get(name) != "Fully supported":
            support[name] = level
    return {
        "source": {"repository": REPOSITORY, "path": SOURCE_PATH, "commit": sha, "date": date},
        "commands": dict(sorted(support.items())),
    }


def main(argv: list[str] | None = None) -> int:
    """Write OUTPUT from the mirror given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--git-dir", type=Path, required=True, help="dragonflydb/documentation")
    parser.add_argument("--commit", default="HEAD")
    args = parser.parse_args(argv)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(derive(args.git_dir, args.commit), indent=2) + "\n")
    print(f"wrote {OUTPUT.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
