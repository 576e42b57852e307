"""The fake control plane answers as the public Anypoint OpenAPI specs say: a scripted walk
through every operation it serves, every response validated against the spec of its
operation (``spec_book``), and the table of ``docs/control-plane.md`` §10 kept true."""

from __future__ import annotations

import asyncio
from pathlib import Path

from .conftest import new_state, running
from .spec_book import Book, table
from .spec_walk import walk

ROOT = Path(__file__).resolve().parents[2]


def test_every_served_operation_answers_as_its_spec_says():
    book = Book()
    state, _ = new_state()

    async def main() -> None:
        async with running(state) as server:
            recorder = await walk(state, server, book)
        assert recorder.problems == []
        served = {op.key for op in book.served()}
        assert served - recorder.covered == set(), "served operations the walk does not reach"
        assert len(served) >= 50

    asyncio.run(main())


def test_the_operations_table_in_the_docs_is_current():
    doc = (ROOT / "docs" / "control-plane.md").read_text()
    assert table(Book()) in doc, "regenerate it: python -m tests.fake_anypoint.spec_book"


def test_the_vendored_specs_name_their_source_and_licence():
    specs = ROOT / "tests" / "fake_anypoint" / "specs"
    readme = (specs / "README.md").read_text()
    assert "ae1c799f4158e237a522c3f36502750dec29dc8e" in readme and "MIT" in readme
    assert (specs / "LICENSE.md").read_text().startswith("# MIT License")
