#!/usr/bin/env bash
# Create .venv with the locked dependencies, needing nothing but python3.
# uv comes from PyPI when it is not installed; it builds the venv itself, so
# Debian's python3-venv/ensurepip is not needed either.
set -euo pipefail
cd "$(dirname "$0")/.."
# Two make targets started together must not sync the same venv at once.
if command -v flock >/dev/null; then exec 9>.bootstrap.lock && flock 9; fi
EXTRAS=("$@")
if [ ${#EXTRAS[@]} -eq 0 ]; then EXTRAS=(function cli worker dev); fi

UV="$(command -v uv || true)"
if [ -z "$UV" ]; then
  if [ ! -x .tools/bin/uv ]; then
    echo "bootstrap: installing uv into .tools/" >&2
    python3 -m pip install --quiet --disable-pip-version-check --target .tools/uv-pkg uv \
      || python3 -m pip install --quiet --break-system-packages --target .tools/uv-pkg uv
    mkdir -p .tools/bin
    ln -sf "$PWD/.tools/uv-pkg/bin/uv" .tools/bin/uv
  fi
  UV="$PWD/.tools/bin/uv"
fi

ARGS=()
for extra in "${EXTRAS[@]}"; do ARGS+=(--extra "$extra"); done
"$UV" sync --frozen --compile-bytecode --python "$(command -v python3)" "${ARGS[@]}" --quiet
