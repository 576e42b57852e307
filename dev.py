#!/usr/bin/env python3
"""One entry point for a fresh clone: makes ``.venv`` with everything asmkit needs, then runs.

    python3 dev.py conformance [ARGS]   the conformance suite against the reference adapter
    python3 dev.py test [PYTEST ARGS]   the kit's own tests (pytest, on every core; -n 0 serial)
    python3 dev.py check                ruff and mypy
    python3 dev.py bench [NAME]         benchmarks
    python3 dev.py asmkit ARGS          any asmkit command inside the environment

Only Python 3.11+ is needed; the first run installs the dependencies (about a minute) and later
runs reuse them until pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
EXTRAS = "test,envoy,redis,ldap,report,load"


def _stamp() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(EXTRAS.encode())
    return digest.hexdigest()


def ensure_environment() -> None:
    """Create ``.venv`` and install asmkit (editable) with its extras if anything changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py itself runs on any python3
        sys.exit(
            f"asmkit needs Python 3.11 or newer; this is {sys.version.split()[0]}."
            " Run it with python3.11 (or newer)."
        )
    marker = VENV / ".asmkit-installed"
    if marker.exists() and marker.read_text() == _stamp() and (BIN / "asmkit").exists():
        return
    if not (BIN / "python").exists():
        print(f"dev.py: creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print(f"dev.py: installing asmkit[{EXTRAS}] into {VENV} (first run only)", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[{EXTRAS}]"], check=True)
    marker.write_text(_stamp())


def run(argv: list[str]) -> int:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.call(argv, cwd=ROOT, env=env)


def main(args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    command, rest = args[0], args[1:]
    ensure_environment()
    if command == "conformance":
        return run([str(BIN / "asmkit"), "conformance", *rest])
    if command == "test":
        # in parallel on every core unless told otherwise (-n 0 runs serially)
        parallel = [] if any(a == "-n" or a.startswith("-n") for a in rest) else ["-n", "auto"]
        return run([str(BIN / "python"), "-m", "pytest", *parallel, *rest])
    if command == "check":
        code = run([str(BIN / "ruff"), "check", "."])
        code |= run([str(BIN / "ruff"), "format", "--check", "."])
        return code | run([str(BIN / "mypy"), "."])
    if command == "bench":
        return run([str(BIN / "asmkit"), "bench", *rest])
    if command == "asmkit":
        return run([str(BIN / "asmkit"), *rest])
    print(f"dev.py: unknown command {command!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
