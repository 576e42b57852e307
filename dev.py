#!/usr/bin/env python3
"""One entry point for a fresh clone: makes ``.venv`` with everything asmkit needs, then runs.

    python3 dev.py conformance [ARGS]   the conformance suite against the reference adapter
    python3 dev.py test [PYTEST ARGS]   the kit's own tests (pytest, on every core; -n 0 serial)
    python3 dev.py check                ruff and mypy
    python3 dev.py bench [NAME]         benchmarks
    python3 dev.py fuzz [TARGET ...] [--examples N]
                                        long fuzz runs (targets: see FUZZ_TARGETS; all by default)
    python3 dev.py asmkit ARGS          any asmkit command inside the environment
    python3 dev.py mitm                 make .venv-mitm: mitmproxy 12 for the proxy features

The proxy features (asmkit proxy, profiles with control_plane: {via: proxy}) run mitmproxy in
its own environment, .venv-mitm (Python >= 3.12); `test` makes it first, the kit makes it on
first use otherwise.

Only Python 3.11+ is needed; the first run installs the dependencies (about a minute) and later
runs reuse them until pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
EXTRAS = "test,envoy,redis,ldap,report,load"
MITM_VENV = ROOT / ".venv-mitm"
MITM_REQUIREMENT = "mitmproxy==12.*"
"""mitmproxy 12 needs Python >= 3.12; never 11.x, whose pinned h11 has CVE-2025-43859."""


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


def _python_312() -> str | None:
    """A Python >= 3.12 for mitmproxy: on PATH, or installed by pyenv."""
    candidates = [shutil.which(f"python3.{minor}") for minor in (13, 12)]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if pyenv.is_dir():
        for version in sorted(pyenv.iterdir(), reverse=True):
            if version.name.startswith(("3.13", "3.12")):
                candidates.append(str(version / "bin" / "python3"))
    if sys.version_info >= (3, 12):
        candidates.insert(0, sys.executable)
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            probe = subprocess.run(
                [candidate, "-c", "import sys, venv; print(sys.version_info >= (3, 12))"],
                capture_output=True,
                text=True,
                check=False,
            )
            if probe.stdout.strip() == "True":
                return candidate
    return None


def ensure_mitm() -> int:
    """Make ``.venv-mitm`` with mitmproxy 12 (its own environment: it pins its dependencies)."""
    marker = MITM_VENV / ".asmkit-installed"
    if marker.exists() and marker.read_text() == MITM_REQUIREMENT:
        return 0
    python = _python_312()
    if python is None:
        print(
            "dev.py: mitmproxy 12 needs Python >= 3.12 (python3.12/python3.13 on PATH or in"
            " pyenv); install one, e.g. `pyenv install 3.12`",
            file=sys.stderr,
        )
        return 1
    print(f"dev.py: installing {MITM_REQUIREMENT} into {MITM_VENV} with {python}", flush=True)
    subprocess.run([python, "-m", "venv", "--clear", str(MITM_VENV)], check=True)
    pip = [str(MITM_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--disable-pip-version-check", MITM_REQUIREMENT], check=True)
    marker.write_text(MITM_REQUIREMENT)
    return 0


FUZZ_TARGETS: dict[str, list[str]] = {
    # The fake control plane, fuzzed with schemathesis from the public Anypoint specs.
    "control-plane": ["-m", "tests.fake_anypoint.spec_fuzz", "--examples", "{examples}"],
    # Every file reader, both faces of the reference adapter and a scenario's LDAP directory,
    # with Hypothesis (tests/fuzz).
    **{
        name: ["-m", "tests.fuzz", name, "--examples", "{examples}"]
        for name in (
            "scenario-file",
            "profile-file",
            "whatif-spec",
            "snapshot",
            "state-file",
            "cassette-file",
            "grpc-face",
            "http-face",
            "ldap-directory",
        )
    },
}
"""``dev.py fuzz`` targets: a python command line each (``{examples}`` is filled in)."""


def fuzz(args: list[str]) -> int:
    """Run the named fuzz targets (all by default) with ``--examples N`` (default 5000)."""
    examples = "5000"
    if "--examples" in args:
        at = args.index("--examples")
        examples = args[at + 1] if at + 1 < len(args) else ""
        del args[at : at + 2]
    if not examples.isdigit():
        print("dev.py fuzz: --examples needs a whole number", file=sys.stderr)
        return 2
    unknown = [t for t in args if t not in FUZZ_TARGETS]
    if unknown:
        print(
            f"dev.py fuzz: unknown target(s) {unknown}; known: {list(FUZZ_TARGETS)}",
            file=sys.stderr,
        )
        return 2
    code = 0
    for name in args or list(FUZZ_TARGETS):
        print(f"dev.py fuzz: {name}", flush=True)
        command = [part.replace("{examples}", examples) for part in FUZZ_TARGETS[name]]
        code |= run([str(BIN / "python"), *command])
    return code


def run(argv: list[str]) -> int:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.call(argv, cwd=ROOT, env=env)


def main(args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    command, rest = args[0], args[1:]
    if command == "mitm":
        return ensure_mitm()
    ensure_environment()
    if command == "conformance":
        return run([str(BIN / "asmkit"), "conformance", *rest])
    if command == "test":
        if ensure_mitm() != 0:
            return 1
        # in parallel on every core unless told otherwise (-n 0 runs serially)
        parallel = [] if any(a == "-n" or a.startswith("-n") for a in rest) else ["-n", "auto"]
        return run([str(BIN / "python"), "-m", "pytest", *parallel, *rest])
    if command == "check":
        code = run([str(BIN / "ruff"), "check", "."])
        code |= run([str(BIN / "ruff"), "format", "--check", "."])
        return code | run([str(BIN / "mypy"), "."])
    if command == "bench":
        return run([str(BIN / "asmkit"), "bench", *rest])
    if command == "fuzz":
        return fuzz(list(rest))
    if command == "asmkit":
        return run([str(BIN / "asmkit"), *rest])
    print(f"dev.py: unknown command {command!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
