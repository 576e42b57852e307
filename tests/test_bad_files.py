"""Every command that reads a file turns every kind of broken file into its own clear error,
naming the file (and the line where there is one), never a traceback; a command that reads many
files checks and reports the others, and ``asmkit conformance`` still writes its report."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from asmkit.cli import main
from live.profile import BUNDLED_PROFILE
from scenarios import LIBRARY

SCENARIO = LIBRARY / "client_id_enforcement" / "approved-client-allowed.scenario.yaml"
WHATIF = LIBRARY / "whatif" / "contract-revocation.whatif.yaml"
ROOT = Path(__file__).resolve().parent.parent


def _spoil(text: str, kind: str) -> bytes:
    """``text`` (a valid document) broken in one way, on its third line where it is a line."""
    lines = text.encode().split(b"\n")
    head, tail = b"\n".join(lines[:2]) + b"\n", b"\n".join(lines[2:])
    spoiled = {
        "bad-utf8": head + b"# caf\xe9 \xff\n" + tail,
        "control-character": head + b"x_ctrl: \x07\n" + tail,
        "bad-tag": head + b"x_tag: !!int abc\n" + tail,
        "python-tag": head + b"x_py: !!python/object/apply:os.system [echo]\n" + tail,
        "alias-bomb": head
        + b"x_lol: &a [1,1,1,1,1,1,1,1,1,1]\n"
        + b"".join(
            f"x_{n}: &{n} [{','.join([f'*{p}'] * 10)}]\n".encode()
            for p, n in zip("abcdef", "bcdefg", strict=True)
        )
        + tail,
        "deep": head + b"x_deep: " + b"[" * 200 + b"]" * 200 + b"\n" + tail,
        "syntax": head + b"x_syntax: [1, 2\n" + tail,
        "empty": b"",
        "not-a-mapping": b"- just\n- a list\n",
        "binary": bytes(range(256)) * 4,
    }
    return spoiled[kind]


KINDS = [
    "bad-utf8",
    "control-character",
    "bad-tag",
    "python-tag",
    "alias-bomb",
    "duplicate-key",
    "deep",
    "syntax",
    "empty",
    "not-a-mapping",
    "binary",
]


def _duplicate(text: str) -> bytes:
    """``text`` with its first top-level key given again at the end."""
    key = next(line.split(":")[0] for line in text.splitlines() if re.match(r"^[a-z_]+:", line))
    return (text + f"\n{key}: again\n").encode()


def bad_file(directory: Path, source: Path, kind: str, suffix: str) -> Path:
    """A broken copy of ``source`` named for ``kind``."""
    text = source.read_text()
    stem = source.name.split(".")[0]
    path = directory / f"{kind}{suffix}"
    data = _duplicate(text) if kind == "duplicate-key" else _spoil(text, kind)
    if suffix == ".scenario.yaml":
        data = data.replace(f"name: {stem}".encode(), f"name: {kind}".encode())
    path.write_bytes(data)
    return path


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _assert_clear(code: int, output: str, path: Path) -> None:
    assert code not in (0, None), output
    assert "Traceback" not in output, output
    assert str(path) in output or path.name in output, output


@pytest.mark.parametrize("kind", KINDS)
def test_validate_reports_each_bad_scenario_and_checks_the_others(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = bad_file(tmp_path, SCENARIO, kind, ".scenario.yaml")
    (tmp_path / SCENARIO.name).write_text(SCENARIO.read_text())
    typo = tmp_path / "typo.scenario.yaml"
    typo.write_text(SCENARIO.read_text().replace("name: approved-client-allowed", "name: typo"))
    typo.write_text(typo.read_text().replace("    expect:", "    expct:", 1))
    code, output = _run(capsys, ["validate", str(tmp_path)])
    _assert_clear(code, output, bad)
    assert "typo.scenario.yaml" in output and "unknown key 'expct'" in output, output
    assert "in 3 file(s)" in output, output


@pytest.mark.parametrize("kind", KINDS)
def test_run_reports_a_bad_scenario(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = bad_file(tmp_path, SCENARIO, kind, ".scenario.yaml")
    _assert_clear(*_run(capsys, ["run", str(bad)]), bad)


@pytest.mark.parametrize("kind", KINDS)
def test_whatif_and_validate_report_a_bad_spec(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = bad_file(tmp_path, WHATIF, kind, ".whatif.yaml")
    _assert_clear(*_run(capsys, ["whatif", str(bad), "--report-dir", str(tmp_path)]), bad)
    _assert_clear(*_run(capsys, ["validate", str(bad)]), bad)


@pytest.mark.parametrize("kind", KINDS)
def test_every_profile_reader_reports_a_bad_profile(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = bad_file(tmp_path, BUNDLED_PROFILE, kind, ".yaml")
    _assert_clear(*_run(capsys, ["serve", "adapter", "--profile", str(bad)]), bad)
    _assert_clear(*_run(capsys, ["run", str(SCENARIO), "--adapter", str(bad)]), bad)
    _assert_clear(*_run(capsys, ["validate", str(SCENARIO), "--adapter", str(bad)]), bad)


def test_a_folder_with_a_bad_profile_reports_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A YAML file in a folder that cannot be read at all is reported, not skipped silently."""
    bad = bad_file(tmp_path, BUNDLED_PROFILE, "bad-utf8", ".yaml")
    (tmp_path / "good.yaml").write_text(BUNDLED_PROFILE.read_text())
    code, output = _run(capsys, ["validate", str(tmp_path)])
    _assert_clear(code, output, bad)
    assert "in 2 file(s)" in output, output


def _conformance(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "asmkit.cli", "conformance", "--report-dir", str(tmp_path / "out"),
         *args],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )  # fmt: skip


def test_conformance_reports_bad_scenarios_runs_the_rest_and_writes_its_report(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    bad = [bad_file(folder, SCENARIO, kind, ".scenario.yaml") for kind in KINDS]
    (folder / SCENARIO.name).write_text(SCENARIO.read_text())
    result = _conformance(tmp_path, "--scenarios", str(folder))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    report = yaml.safe_load((tmp_path / "out" / "conformance-report.yaml").read_text())
    outcomes = {c["name"]: c["outcome"] for c in report["cases"]}
    assert outcomes.pop("approved-client-allowed") == "passed"
    assert outcomes == {kind: "error" for kind in KINDS}, outcomes
    errors = {c["name"]: c["error"] for c in report["cases"] if c["outcome"] == "error"}
    for path in bad:
        assert str(path) in errors[path.name.removesuffix(".scenario.yaml")]
    assert report["result"] != "success"
    assert "bad-utf8" in (tmp_path / "out" / "junit.xml").read_text()


def test_conformance_with_a_bad_profile_says_so_without_a_traceback(tmp_path: Path) -> None:
    bad = bad_file(tmp_path, BUNDLED_PROFILE, "bad-tag", ".yaml")
    result = _conformance(tmp_path, "--adapter", str(bad), "-k", "approved-client-allowed")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output and f"{bad}:" in output, output


def test_validate_refuses_a_folder_named_like_a_scenario_and_an_empty_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "x.scenario.yaml"
    folder.mkdir()
    code, output = _run(capsys, ["validate", str(folder)])
    assert code == 1 and "a folder, not a file" in output, output
    code, output = _run(capsys, ["validate", str(tmp_path)])
    assert code == 1 and "a folder named like a file to check" in output, output
    empty = tmp_path / "empty"
    empty.mkdir()
    code, output = _run(capsys, ["validate", str(empty)])
    assert code == 1 and "no scenario files" in output, output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # found by the scenario-file fuzz target: a key that looks like a pydantic union tag
        ("'[x]': 1\nname: x\n", "unknown key '[x]'"),
        # found by the same target: a step whose keys mix null and text
        ("name: x\ndescription: d\nfeatures: [analytics]\nsteps:\n  - {~: 1, foo: 2}\n",
         "a step needs exactly one action key"),
    ],
)  # fmt: skip
def test_fuzz_findings_are_clear_errors(
    text: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "found.scenario.yaml"
    path.write_text(text)
    code, output = _run(capsys, ["validate", str(path)])
    _assert_clear(code, output, path)
    assert expected in output, output
