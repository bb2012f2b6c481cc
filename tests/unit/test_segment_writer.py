"""The term-at-a-time segment writer writes exactly what Whoosh's writer writes, only faster.

Each test builds real indexes on disk and compares them with what Whoosh itself writes for the same
documents, file by file, byte by byte.
"""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from whoosh import index, writing
from whoosh.codec.whoosh3 import W3Codec

from kb.config import PROJECT_ROOT
from kb.search import segment_arrays, segment_writer
from kb.search.documents import ANYONE, MEMBERS, IndexDocument
from kb.search.schema import build_schema
from kb.search.whoosh_backend import whoosh_fields

WORDS = ("care home hospital discharge social isolation pooled budget the of and integrated integration "
         "A&E frail frailty older people carers district nurse data sharing governance a I x "
         "Ünïcödé ΣΟΦΙΑ İstanbul straße ﬁnance 数据 naïve co-ordination £270m 2015 2015/16").split()
HOSTILE = ["", " ", "&", "&&&", "A&&E", "a&e&f", "x" * 300, "\u0130" * 5, "ΣΣ.Σ", "<b>care</b> &amp;", "\t\n"]


def _documents(count: int, seed: int = 7) -> list[IndexDocument]:
    rng = random.Random(seed)

    def words(low: int, high: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))

    documents = []
    for i in range(count):
        documents.append(IndexDocument(
            id=i + 1, stamp=f"{rng.randint(1, 9)}|published|public", title=words(1, 6) or rng.choice(HOSTILE),
            summary=rng.choice([words(0, 12), rng.choice(HOSTILE)]),
            body=words(0, 400) + " " + rng.choice(HOSTILE), about=words(0, 5),
            type=rng.choice(("evidence", "case_study", "intervention")), sites=tuple(rng.sample(["leeds", "york", "kent"], 2)),
            themes=("workforce",), tags=(f"workforce:{rng.choice(('enabler', 'barrier'))}",), polarities=("enabler",),
            year=rng.choice((None, 2014, 2016)), published=rng.choice((None, date(2015, 3, 1), date(2016, 1, 9))),
            strength=rng.choice((None, 1, 5)), readers=rng.choice(((ANYONE, MEMBERS), (MEMBERS,), ()))))
    return documents


def _files(folder: Path) -> dict[str, str]:
    """Each segment file's digest, keyed by its name without the (random) segment id."""
    found = {}
    for path in folder.iterdir():
        if path.name.startswith("MAIN_") and "." in path.name:
            found[path.name.split(".", 1)[1]] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _write(folder: Path, writer_class, documents: list[IndexDocument], codec) -> dict[str, str]:
    folder.mkdir()
    ix = index.create_in(str(folder), build_schema())
    writer = writer_class(ix, compound=False, codec=codec)
    for document in documents:
        writer.add_document(**whoosh_fields(document))
    writer.commit(merge=False)
    return _files(folder)


@pytest.mark.parametrize("codec", [W3Codec(), segment_writer.UNCOMPRESSED], ids=["compressed", "uncompressed"])
@pytest.mark.parametrize("count", [1, 3, 700])
def test_a_segment_is_byte_for_byte_the_one_whoosh_writes(tmp_path, count, codec):
    documents = _documents(count)
    theirs = _write(tmp_path / "whoosh", writing.SegmentWriter, documents, codec)
    ours = _write(tmp_path / "ours", segment_writer.SegmentWriter, documents, codec)
    # Postings, terms, lengths, stored fields and columns: every file of the segment.
    assert {"pst", "trm", "_stored.col", "_body_len.col", "id.col"} <= set(theirs)
    assert ours == theirs


def _doc_ids(folder: Path) -> list[int]:
    with index.open_dir(str(folder)).searcher() as searcher:
        return sorted(int(fields["id"]) for fields in searcher.all_stored_fields())


def test_documents_written_by_two_processes_are_committed_together_beside_the_segments_there(tmp_path):
    ix = index.create_in(str(tmp_path), build_schema())
    earlier = [whoosh_fields(d) for d in _documents(5, seed=1)]
    segment_writer.write_segments(ix, earlier, procs=1)
    later = [whoosh_fields(d) for d in _documents(600, seed=2)]
    for number, fields in enumerate(later, start=1000):
        fields["id"] = str(number)

    segment_writer.write_segments(ix, later, procs=2)

    segments = index.open_dir(str(tmp_path))._segments()
    assert sorted(segment.doc_count_all() for segment in segments) == [5, 300, 300]
    assert _doc_ids(tmp_path) == [1, 2, 3, 4, 5] + list(range(1000, 1600))
    with index.open_dir(str(tmp_path)).searcher() as searcher:  # the postings are searchable
        assert searcher.doc_frequency("id", "1599") == 1
        assert searcher.doc_frequency("title", "care") == sum(
            "care" in fields["title"].lower().split() for fields in earlier + later)


@pytest.mark.parametrize("procs", [1, 2])
def test_a_writer_that_fails_leaves_the_index_as_it_was_and_unlocked(tmp_path, procs):
    ix = index.create_in(str(tmp_path), build_schema())
    segment_writer.write_segments(ix, [whoosh_fields(d) for d in _documents(4)], procs=1)
    documents = [whoosh_fields(d) for d in _documents(50, seed=3)]
    documents[-1]["no_such_field"] = "boom"  # the last writer fails on its last document

    with pytest.raises(Exception, match="no_such_field"):
        segment_writer.write_segments(ix, documents, procs=procs)

    assert _doc_ids(tmp_path) == [1, 2, 3, 4]
    segment_writer.write_segments(ix, [whoosh_fields(d) for d in _documents(2, seed=4)], procs=1)  # not locked
    assert len(_doc_ids(tmp_path)) == 6


def test_no_documents_make_no_segment(tmp_path):
    ix = index.create_in(str(tmp_path), build_schema())
    segment_writer.write_segments(ix, [], procs=2)
    assert index.open_dir(str(tmp_path))._segments() == []


def test_segment_arrays_made_from_the_postings_in_memory_are_those_read_back_from_the_files(tmp_path):
    ix = index.create_in(str(tmp_path), build_schema())
    segment_writer.write_segments(ix, [whoosh_fields(d) for d in _documents(segment_arrays.MIN_DOCS + 50)], procs=1)
    written = list(tmp_path.glob(f"*{segment_arrays.SUFFIX}"))
    assert len(written) == 1  # by the writing process, from the postings it held
    from_memory = written[0].read_bytes()
    written[0].unlink()

    with index.open_dir(str(tmp_path)).reader() as reader:
        assert segment_arrays.write_missing(str(tmp_path), reader) == 1  # read back from Whoosh's files

    assert written[0].read_bytes() == from_memory


def test_a_large_batch_of_updates_replaces_old_versions_and_adds_new_entries_in_new_segments(tmp_path, monkeypatch):
    from kb.search import whoosh_backend
    from kb.search.backend import SearchRequest
    from kb.search.glossary import Glossary
    from kb.search.whoosh_index import IndexStore

    monkeypatch.setattr(whoosh_backend, "PARALLEL_FROM", 100)
    backend = whoosh_backend.WhooshBackend(IndexStore(tmp_path), Glossary.build([], lambda t: t.split()), index_procs=2)
    old = _documents(40, seed=5)
    backend.rebuild(old, procs=1)
    assert backend.stamps() == {d.id: d.stamp for d in old}
    # Entries 1-20 change, 21-40 are gone, 1,000 are new: one batch, as an import's drain writes it.
    changed = {d.id: IndexDocument(**{**d.__dict__, "stamp": "99|published|public", "title": "zyxwv renamed",
                                      "readers": (ANYONE,)}) for d in old[:20]}
    new = {d.id + 1000: IndexDocument(**{**d.__dict__, "id": d.id + 1000}) for d in _documents(1000, seed=6)}
    current = {**changed, **new}

    assert backend.apply(list(range(1, 41)) + list(new), lambda ids: {i: current[i] for i in ids if i in current})

    assert backend.stamps() == {i: d.stamp for i, d in current.items()}
    found = backend.search(SearchRequest(text="zyxwv", readers=(ANYONE,), filters={}, sort="relevance",
                                         offset=0, limit=50, time_budget=30.0))
    assert sorted(hit.id for hit in found.hits) == sorted(changed)
    segments = sorted(s.doc_count_all() for s in index.open_dir(str(backend.store.live_path()))._segments())
    # The old segment (all deleted now) and two new ones with arrays. The 1,040 ids are shared out
    # before loading (each writing process loads its own), so the 20 that are gone leave one short.
    assert segments == [40, 500, 520]
    assert len(list(backend.store.live_path().glob(f"*{segment_arrays.SUFFIX}"))) == 2


@pytest.mark.parametrize("procs", [1, 2])
def test_no_segment_holds_more_than_the_most_documents_asked_for(tmp_path, procs):
    ix = index.create_in(str(tmp_path), build_schema())
    segment_writer.write_segments(ix, [whoosh_fields(d) for d in _documents(25)], procs=procs, max_docs=10)
    assert sorted(s.doc_count_all() for s in index.open_dir(str(tmp_path))._segments()) == [5, 10, 10]
    assert _doc_ids(tmp_path) == list(range(1, 26))


def test_a_process_with_no_other_thread_writes_its_segments_in_forked_children(tmp_path):
    # In a fresh interpreter (this test process may have threads of its own, and then writes in-process).
    script = f"""
import resource, sys
from whoosh import index
from kb.search import segment_writer
from kb.search.schema import build_schema
from kb.search.whoosh_backend import whoosh_fields
from tests.unit.test_segment_writer import _documents
ix = index.create_in({str(tmp_path)!r}, build_schema())
before = resource.getrusage(resource.RUSAGE_CHILDREN)
segment_writer.write_segments(ix, [whoosh_fields(d) for d in _documents(600)], procs=2)
after = resource.getrusage(resource.RUSAGE_CHILDREN)
print(after.ru_utime + after.ru_stime > before.ru_utime + before.ru_stime)
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True"], out.stderr  # the writing was done by child processes
    assert sorted(s.doc_count_all() for s in index.open_dir(str(tmp_path))._segments()) == [300, 300]
    assert _doc_ids(tmp_path) == list(range(1, 601))
