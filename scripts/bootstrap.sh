#!/usr/bin/env bash
# Create .venv with the locked dependencies, needing python3 and either uv or pip.
# uv comes from PyPI (through pip) when it is not installed; it builds the venv
# itself, so Debian's python3-venv/ensurepip is not needed. With neither uv nor
# pip, it says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."
# Two make targets started together must not sync the same venv at once.
if command -v flock >/dev/null; then exec 9>.bootstrap.lock && flock 9; fi
EXTRAS=("$@")
if [ ${#EXTRAS[@]} -eq 0 ]; then EXTRAS=(function cli worker dev); fi

UV="$(command -v uv || true)"
if [ -z "$UV" ]; then
  if [ ! -x .tools/bin/uv ] && ! python3 -m pip --version >/dev/null 2>&1; then
    cat >&2 <<'EOF'
bootstrap: neither uv nor pip is available, and one of them is needed to create .venv.
Install either one, then run make again:
  pip:  sudo apt-get install python3-pip        (Debian, Ubuntu)
  uv:   curl -LsSf https://astral.sh/uv/install.sh | sh
        (or see https://docs.astral.sh/uv/getting-started/installation/)
EOF
    exit 1
  fi
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
