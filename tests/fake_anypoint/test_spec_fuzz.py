"""A bounded run of the stateful schemathesis fuzzer (``spec_fuzz``) against the fake, on
loopback: no server error, no response outside the spec, and no rejected request that changed
the state. ``python3 dev.py fuzz control-plane`` runs a longer one."""

from __future__ import annotations

from .spec_fuzz import run

EXAMPLES = 250


def test_fuzzing_from_the_public_specs_finds_nothing():
    report = run(EXAMPLES, seed=1)
    assert report.inputs >= EXAMPLES * 0.9, report.summary()
    assert report.server_errors == [], report.summary()
    assert report.outside_spec == [], report.summary()
    assert report.changed_on_reject == [], report.summary()
    # the walk reached real entities, not only 404s
    assert sum(n for s, n in report.statuses.items() if s < 300) >= EXAMPLES // 10
    assert len(report.operations) >= 30
