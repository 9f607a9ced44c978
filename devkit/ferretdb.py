"""FerretDB, a second MongoDB-compatible server for the tests, built from source once.

    python -m devkit.ferretdb        # prints the binary's path, building it first if need be

``go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2`` builds a binary that
panics at start: the module's ``build/version/version.txt`` is empty outside FerretDB's
own build (its Taskfile writes it from ``git describe``). So the module (its go.mod
has no replace directives) is fetched through the Go module proxy, copied into
``.cache/ferretdb/src``, given that file, and built there, with the module cache in
``.cache/go-mod``. Needs the Go toolchain (``go`` on the PATH); about two minutes once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from devkit.kafka_jars import DEFAULT_CACHE

MODULE = "github.com/FerretDB/FerretDB"
VERSION = "v1.24.2"
CACHE = DEFAULT_CACHE / "ferretdb"
BINARY = CACHE / f"ferretdb-{VERSION}"


class Unavailable(RuntimeError):
    """FerretDB cannot be built here (no Go toolchain, or the build failed)."""


def go_env() -> dict[str, str]:
    modules = DEFAULT_CACHE / "go-mod"
    return {**os.environ, "GOMODCACHE": str(modules), "GOFLAGS": "-modcacherw", "CGO_ENABLED": "0"}


def ferretdb_binary(say: Callable[[str], object] = print) -> Path:
    """The built binary, building it first when it is not in the cache."""
    if BINARY.is_file():
        return BINARY
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").is_file() else None)
    if go is None:
        raise Unavailable("the Go toolchain is not installed (go on the PATH), which builds FerretDB")
    say(f"building FerretDB {VERSION} from the Go module proxy into {CACHE} (once, about two minutes)")
    fetched = _run([go, "mod", "download", "-json", f"{MODULE}@{VERSION}"], CACHE.parent)
    source = CACHE / "src"
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(json.loads(fetched)["Dir"], source)
    for path in source.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)
    (source / "build" / "version" / "version.txt").write_text(VERSION + "\n")
    partial = BINARY.parent / f"{BINARY.name}.part"
    _run([go, "build", "-o", str(partial), "./cmd/ferretdb"], source)
    partial.rename(BINARY)
    shutil.rmtree(source, ignore_errors=True)
    return BINARY


def _run(command: list[str], cwd: Path) -> str:
    cwd.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(command, cwd=cwd, env=go_env(), capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise Unavailable(f"{' '.join(command[:3])} failed: {done.stderr[-2000:]}")
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m devkit.ferretdb", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.parse_args(argv)
    try:
        print(ferretdb_binary(say=lambda text: print(text, file=sys.stderr, flush=True)))
    except Unavailable as exc:
        print(f"devkit.ferretdb: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
