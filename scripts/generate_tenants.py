"""Write (or, with --check, compare) every file the tenant registry generates.

`make tenants` runs it; `tests/manifests/test_tenants.py` fails when a committed file
differs from what this would write.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.tenancy.generate import (  # noqa: E402
    capacity_problem,
    generated_files,
    stale_files,
)
from scripts.tenancy.nats_server import (  # noqa: E402
    DEVELOPMENT_VALUES,
    NATS_DIR,
    deep_merge,
    load_values,
)
from scripts.tenancy.registry import RegistryError, load_registry  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a file is not current")
    args = parser.parse_args(argv)
    try:
        entries = load_registry(ROOT)
        files = generated_files(entries)
    except RegistryError as exc:
        print(f"make tenants: {exc}", file=sys.stderr)
        return 2
    # The values files without the generated overlay: the server's size is hand-set.
    production = load_values(ROOT, [NATS_DIR / "values.yaml"])
    development = deep_merge(production, load_values(ROOT, [DEVELOPMENT_VALUES[-1]]))
    for values, shape in ((production, "production"), (development, "development")):
        if problem := capacity_problem(entries, values, shape):
            print(f"make tenants: {problem}", file=sys.stderr)
            return 2
    stale = stale_files(ROOT, entries)
    if args.check:
        drift = [
            p
            for p, text in files.items()
            if not (ROOT / p).is_file() or (ROOT / p).read_text() != text
        ]
        for path in [*drift, *stale]:
            print(f"not current: {path} (run `make tenants`)", file=sys.stderr)
        return 1 if drift or stale else 0
    for path, text in files.items():
        (ROOT / path).parent.mkdir(parents=True, exist_ok=True)
        (ROOT / path).write_text(text)
        print(f"wrote {path}")
    for path in stale:
        (ROOT / path).unlink()
        print(f"removed {path} (tenant no longer in the registry)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
