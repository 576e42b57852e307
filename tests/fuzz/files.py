"""Fuzz targets for every file reader: scenarios, adapter profiles, what-if specs, control-plane
snapshots (``restore``) and ``--state`` files. Inputs are random bytes, library files with bytes
spliced in, and library documents with values replaced, deleted or added at random places
(NaN, huge numbers, wrong types, hostile strings). A reader must accept the input or refuse it
with its own clear error naming the file, within the time limit; a refused snapshot leaves the
state as it was."""

from __future__ import annotations

import copy
import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import assume
from hypothesis import strategies as st

from common.clock import ManualClock
from conformance.validation import check_scenario_file
from fake_anypoint import ControlPlaneState
from live.profile import BUNDLED_PROFILE, load_profile
from scenarios import LIBRARY, ScenarioError
from tests.fuzz.harness import Target, time_limit

SCENARIOS = sorted(LIBRARY.rglob("*.scenario.yaml"))
WHATIFS = sorted(LIBRARY.rglob("*.whatif.yaml"))
PROFILES = sorted(BUNDLED_PROFILE.parent.glob("*.yaml"))
_WORK = Path(tempfile.mkdtemp(prefix="asmkit-fuzz-"))

HOSTILE_STRINGS = [
    "", " ", "\x00", "\ufeff", "\u202e", "é" * 3, "x" * 5000, "-1", "0", "1e308", ".inf", ".nan",
    "NaN", "99999999999999999999", "0ms", "1000000h", "5", "250ms", "none", "null", "true",
    "${faker.seed_instance}", "${faker.__class__}", "${applications.x.client_id}", "${",
    "${captures.}", "#[attributes.headers['x']]", "{control_plane_url}", "{nope}",
    "client-id-enforcement", "rate-limiting", "orders", "mobile", "orders/cid", "*",
    "http://example.com/", "../../etc/passwd", "GET", "/", "?a=b", "[", "{", "&a *a",
]  # fmt: skip

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(HOSTILE_STRINGS),
    st.text(max_size=40),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(data: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*at, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _paths(value, (*at, i))
    return found


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


@st.composite
def mutated_data(draw: st.DrawFn, documents: list[Any]) -> Any:
    """A library document with one to four values replaced, deleted or added."""
    data = copy.deepcopy(draw(st.sampled_from(documents)))
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(data, path)
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(VALUES)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(VALUES)
        else:
            parent.append(draw(VALUES))
    return data


def _dump(data: Any) -> bytes:
    try:
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode(
            "utf-8", "surrogatepass"
        )
    except (yaml.YAMLError, UnicodeError, RecursionError, ValueError):
        assume(False)
        raise  # pragma: no cover - assume() stops the example


@st.composite
def spliced(draw: st.DrawFn, texts: list[bytes]) -> bytes:
    """A library file with random bytes written over or into it at random places."""
    data = bytearray(draw(st.sampled_from(texts)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        chunk = draw(st.binary(min_size=1, max_size=12) | st.sampled_from(
            [b"\xff", b"\x00", b"\x07", b"!!python/object:os.system", b"&a", b"*a", b"<<: *a",
             b"!!binary", b"!!int x", b"\t", b"\r", b"---\n", b"[", b"{", b": ", b"\n  - "]
        ))  # fmt: skip
        if draw(st.booleans()):
            data[at : at + len(chunk)] = chunk
        else:
            data[at:at] = chunk
    return bytes(data)


def documents(paths: list[Path]) -> st.SearchStrategy[bytes]:
    texts = [p.read_bytes() for p in paths]
    data = [yaml.safe_load(t) for t in texts]
    return st.one_of(
        st.binary(max_size=4096),
        spliced(texts),
        mutated_data(data).map(_dump),
    )


def _read(name: str, raw: bytes, load: Any) -> str:
    path = _WORK / name
    path.write_bytes(raw)
    try:
        with time_limit():
            load(path)
    except ScenarioError as exc:
        assert str(path) in str(exc), f"the error does not name the file: {exc}"
        return "rejected"
    return "accepted"


def _whatif(path: Path) -> None:
    from simulator.whatif import load_whatif

    load_whatif(path)


SCENARIO_FILE = Target(
    "scenario-file",
    documents(SCENARIOS),
    # not named *.scenario.yaml: a mutated name need not match the file name to get further
    lambda raw: _read("fuzz-scenario.yaml", raw, check_scenario_file),
)
PROFILE_FILE = Target(
    "profile-file", documents(PROFILES), lambda raw: _read("fuzz-profile.yaml", raw, load_profile)
)
WHATIF_FILE = Target(
    "whatif-spec", documents(WHATIFS), lambda raw: _read("fuzz-whatif.yaml", raw, _whatif)
)


def _seeded_state() -> ControlPlaneState:
    from scenarios import load_scenario

    state = ControlPlaneState(ManualClock(), seed=3)
    for path in SCENARIOS[:3]:
        state.seed(load_scenario(path).scenario.control_plane)
    return state


_SNAPSHOT = json.loads(json.dumps(_seeded_state().snapshot(), default=str))


def _restore(data: Any) -> str:
    state = ControlPlaneState(ManualClock(), seed=5)
    state.seed({"apis": [{"key": "before"}]})
    before = json.dumps(state.snapshot(), sort_keys=True, default=str)
    try:
        with time_limit():
            state.restore(data)
    except ValueError:
        after = json.dumps(state.snapshot(), sort_keys=True, default=str)
        assert after == before, "a refused snapshot changed the state (not all or nothing)"
        return "rejected"
    return "accepted"


SNAPSHOT = Target(
    "snapshot",
    st.one_of(mutated_data([_SNAPSHOT]), VALUES),
    _restore,
)


def _state_file(body: bytes | Any) -> str:
    from fake_anypoint.store import SqliteStore

    path = _WORK / "fuzz-state.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    if isinstance(body, bytes):
        path.write_bytes(body)
    else:
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE state (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
            text = body if isinstance(body, str) else json.dumps(body, default=str)
            db.execute("INSERT INTO state (id, body) VALUES (1, ?)", (text,))
    try:
        with time_limit():
            store = SqliteStore(path)
            try:
                store.attach(ControlPlaneState(ManualClock(), seed=1))
            finally:
                store.close()
    except ValueError as exc:
        assert str(path) in str(exc), f"the error does not name the file: {exc}"
        return "rejected"
    return "accepted"


STATE_FILE = Target(
    "state-file",
    st.one_of(
        st.binary(max_size=2048),
        st.text(max_size=200),
        mutated_data([_SNAPSHOT]),
    ),
    _state_file,
)

TARGETS = [SCENARIO_FILE, PROFILE_FILE, WHATIF_FILE, SNAPSHOT, STATE_FILE]


_CASSETTE: dict[str, Any] = {
    "format": "asmkit-cassette/1",
    "recorded_at": "2026-01-01T00:00:00+00:00",
    "hosts": {"anypoint.mulesoft.com": "platform", "ingest.example": "ingest"},
    "redaction": {"algorithm": "hmac-sha256-shape/1", "salt": "s"},
    "interactions": [
        {
            "at": float(i),
            "host": "anypoint.mulesoft.com",
            "request": {"method": "GET", "path": path, "query": [["limit", "5"]]},
            "response": {
                "status": 200,
                "headers": [["Content-Type", "application/json"]],
                "body": json.dumps({"data": [{"id": i, "secret": "<redacted>"}]}),
            },
        }
        for i, path in enumerate(
            ["/apimanager/api/v1/organizations/o/apis", "/unknown/feed/10001", "/x?y"]
        )
    ],
}


def _cassette(body: bytes | Any) -> str:
    """A cassette file: refused with ``CassetteError`` naming the file, or accepted and then
    replayable (a few requests answered from it without an error)."""
    from fake_anypoint.cassette import CassetteError, load_cassette
    from fake_anypoint.replay import Replayer

    path = _WORK / "fuzz.cassette.json"
    if isinstance(body, bytes):
        path.write_bytes(body)
    else:
        try:
            path.write_text(json.dumps(body, allow_nan=True), encoding="utf-8", errors="replace")
        except (TypeError, ValueError):
            assume(False)
    try:
        with time_limit():
            cassette = load_cassette(path)
            replay = Replayer(cassette, lambda: 1.0, "reads")
            for method, target in (("GET", "/unknown/feed/10001"), ("POST", "/x"), ("GET", "/")):
                replay.answer("platform", method, target, ["limit"], {}, known=False)
    except CassetteError as exc:
        assert str(path) in str(exc), f"the error does not name the file: {exc}"
        return "rejected"
    return "accepted"


CASSETTE_FILE = Target(
    "cassette-file",
    st.one_of(st.binary(max_size=2048), mutated_data([_CASSETTE]), VALUES),
    _cassette,
)

TARGETS.append(CASSETTE_FILE)
