#!/bin/sh
# The project's .venv from uv.lock, on any machine with a python3 (make install, make run).
#   tools/install.sh [uv sync options]    e.g. --no-default-groups --group local
# uv is used from the PATH, or installed once into .cache/uv-tool. bytewax has wheels
# for CPython 3.11/3.12 only: where neither is installed nor fetchable, it stops here
# within seconds and says what to install, instead of a resolver's trace.
set -eu
UV_VERSION=0.13.9
TOOL=.cache/uv-tool
WANTED='>=3.11,<3.13'

fail() {
    printf '\nmake install: %s\n' "$1" >&2
    exit 1
}

no_python() {
    have=$(python3 --version 2>/dev/null || echo "no python3")
    fail "the dataflow's engine, bytewax 0.21.1, has wheels for CPython 3.9-3.12 only
(no source package), and this machine has $have and no CPython 3.11 or 3.12
that uv can find or download. Install one, then run make install again:
  any system:     uv python install 3.12   (where github.com can be reached), or pyenv install 3.12
  Fedora:         dnf install python3.12
  macOS:          brew install python@3.12
  Debian 12, Ubuntu 24.04 (python3 is 3.11 / 3.12 there): apt install python3-venv
Or run the whole system in containers, with no Python here:
  JWT_SEC=\$(openssl rand -hex 32) docker compose up -d --build"
}

if command -v uv >/dev/null 2>&1; then
    uv=uv
else
    uv=$TOOL/bin/uv
    if [ ! -x "$uv" ]; then
        echo "installing uv $UV_VERSION into $TOOL (once)"
        python3 -m venv "$TOOL" >/dev/null 2>&1 \
            || fail "python3 -m venv failed: install python3-venv (Debian/Ubuntu: apt install python3-venv)"
        "$TOOL/bin/pip" install -q --disable-pip-version-check "uv==$UV_VERSION" \
            || fail "could not install uv $UV_VERSION from PyPI into $TOOL (see pip's message above)"
    fi
fi

if ! "$uv" python find --no-project "$WANTED" >/dev/null 2>&1; then
    echo "no CPython 3.11 or 3.12 found; asking uv for a managed CPython 3.12 (20 s at most)"
    timeout 20 "$uv" python install --quiet 3.12 >/dev/null 2>&1 || no_python
fi
# requirements.txt: the runtime of uv.lock with hashes, for pip install -r (CI checks it matches).
export_requirements() {
    {
        echo "# The runtime (the API and the dataflow), exported from uv.lock by make lock; do not edit."
        echo "#   pip install --require-hashes -r requirements.txt   (CPython 3.11 or 3.12)"
        "$uv" export --frozen --no-default-groups --no-emit-project --no-header --format requirements-txt -q
    } > "$1"
}
if [ "${1:-}" = "--lock" ]; then
    "$uv" lock  # make lock: uv.lock anew from pyproject.toml (a sync --locked refuses a stale lock)
    export_requirements requirements.txt
    exit 0
fi
if [ "${1:-}" = "--requirements" ]; then
    export_requirements "$2"
    exit 0
fi
exec "$uv" sync --locked "$@"
