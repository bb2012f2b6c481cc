"""Segment arrays: written with each segment, removed with it, memory-mapped, and searched alike.

Every search must give exactly the answer it gives through Whoosh's own files (the fallback for a
segment without arrays), so each test here holds the arrays against that, on a real index.
"""

from __future__ import annotations

import random
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from kb.search import postings, segment_arrays, warming
from kb.search.backend import SearchRequest
from kb.search.documents import ANYONE, IndexDocument
from kb.search.glossary import Glossary
from kb.search.whoosh_backend import WhooshBackend
from kb.search.whoosh_index import IndexStore

WORDS = ("care home hospital discharge social isolation pooled budget the of and integrated integration "
         "A&E frail frailty older people carers district nurse data sharing governance happy").split()
SITES = ("leeds", "sheffield", "greenwich")
THEMES = ("workforce", "pooled-budgets", "housing")
QUERIES = ["care", "care home", '"care home"', '"pooled budget"', "frail*", "integr*", "care NOT home",
           "(carers OR nurse) AND data", "A&E", "older people", "nowhere", "carres", "hapy", "", "the"]


def _document(i: int, rng: random.Random, reader: str = ANYONE) -> IndexDocument:
    theme = rng.choice(THEMES)
    polarity = rng.choice(("enabler", "barrier"))
    return IndexDocument(
        id=i, stamp="1|published|public", title=" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6))),
        summary=" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 12))),
        body=" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 150))), about=rng.choice(SITES),
        type=rng.choice(("evidence", "case_study", "intervention")), sites=(rng.choice(SITES),), themes=(theme,),
        tags=(f"{theme}:{polarity}",), polarities=(polarity,), year=rng.choice((2014, 2015, 2016)),
        published=date(rng.choice((2014, 2015, 2016)), rng.randint(1, 12), rng.randint(1, 28)),
        strength=rng.choice((None, 1, 3, 5)), readers=(reader,))


def _backend(root: Path, documents: list[IndexDocument], procs: int = 1) -> WhooshBackend:
    backend = WhooshBackend(IndexStore(root), Glossary.build([], lambda t: t.split()), index_procs=procs)
    backend.rebuild(documents, procs=procs)
    return backend


def _arrays_files(root: Path) -> set[str]:
    return {path.name for path in root.rglob(f"*{segment_arrays.SUFFIX}")}


def _segment_ids(backend: WhooshBackend, at_least: int = 0) -> set[str]:
    searcher = backend._pool.get()
    return {leaf.segment().segment_id() for leaf, _ in searcher.reader().leaf_readers()
            if leaf.doc_count_all() >= at_least}


def _expected_files(backend: WhooshBackend) -> set[str]:
    return {f"{segment}{segment_arrays.SUFFIX}" for segment in _segment_ids(backend, segment_arrays.MIN_DOCS)}


def _answers(backend: WhooshBackend) -> list:
    answers = []
    for text in QUERIES:
        for sort in ("relevance", "newest", "oldest", "title"):
            for filters in ({}, {"site": "leeds"}, {"theme": "housing", "polarity": "barrier"}, {"strength": 3}):
                found = backend.search(SearchRequest(text=text, readers=(ANYONE,), filters=filters, sort=sort,
                                                     offset=0, limit=7, time_budget=30.0))
                answers.append((text, sort, tuple(filters.items()), found.total, [h.id for h in found.hits],
                                sorted(found.highlight), found.facets, found.suggestion, found.notices))
    return answers


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """A rebuilt index of 1,200 documents (two writing processes, so more than one segment), plus saves.

    The saves' small segments have no arrays, so every search here reads both kinds.
    """
    rng = random.Random(7)
    root = tmp_path_factory.mktemp("index")
    backend = _backend(root, [_document(i, rng) for i in range(1, 1201)], procs=2)
    for i in (1201, 1202, 3):  # saves: two new entries and an edit, each a segment of its own
        document = _document(i, rng)
        backend.apply([i], lambda ids, document=document: {document.id: document})
    yield backend, root
    backend.close()


def test_every_large_segment_gets_arrays_when_it_is_written(indexed):
    backend, root = indexed
    large = _segment_ids(backend, segment_arrays.MIN_DOCS)
    assert large and len(_segment_ids(backend)) >= len(large) + 2, "a rebuild's segments and the saves' segments"
    assert _arrays_files(root) == _expected_files(backend)


def test_arrays_hold_what_whoosh_reads(indexed):
    backend, root = indexed
    searcher = backend._pool.get()
    for leaf, _ in searcher.reader().leaf_readers():
        arrays = segment_arrays.open_arrays(backend.store.live_path(), leaf.segment())
        if leaf.doc_count_all() < segment_arrays.MIN_DOCS:
            assert arrays is None
            continue
        assert arrays is not None and arrays.doc_count == leaf.doc_count_all()
        for field in ("title", "body", "summary", "about"):
            for text in [w.decode() for w in leaf.lexicon(field)] + ["nowhere"]:
                expected = postings.read_postings(leaf, field, text)
                found = arrays.postings(field, text)
                assert found.ids.tolist() == expected.ids.tolist() and found.freqs.tolist() == expected.freqs.tolist()
                assert arrays.positions(field, text).tolist() == postings.read_positions(leaf, field, text).tolist()
            assert arrays.lengths(field).tolist() == postings.field_lengths(leaf, field).tolist()
        for field in ("spell", "readers", "sites", "themes", "tags", "type", "year", "strength"):
            words = [w.decode() for w in leaf.lexicon(field)]
            assert arrays.terms(field) == words
            for text in words:
                assert arrays.postings(field, text).ids.tolist() == postings.read_postings(leaf, field, text).ids.tolist()
        spelled = [w.decode() for w in leaf.lexicon("spell")]
        assert all(arrays.may_have_word(w) for w in spelled)
        assert not any(arrays.may_have_word(w) for w in ("carres", "zzzz", "hapy"))
        assert arrays.terms("spell", "frail") == [w for w in spelled if w.startswith("frail")]
        assert arrays.entry_ids().tolist() == [int(leaf.stored_fields(d)["id"]) for d in range(leaf.doc_count_all())]


@pytest.mark.parametrize("prefix", ["frail", "care", "integr", "a", "zzz", "hap"])
def test_prefixes_expand_to_what_whoosh_finds(indexed, prefix):
    backend, root = indexed
    reader = backend._pool.get().reader()
    expected = [w.decode() for w in reader.expand_prefix("spell", prefix)][:5]
    expected.sort(key=lambda w: -reader.doc_frequency("spell", w))
    leaves = [leaf for leaf, _ in reader.leaf_readers()]
    assert backend._segments.prefixed(leaves, prefix, 5) == expected
    assert any(backend._segments.arrays(leaf) is None for leaf in leaves), "mixed: some segments without arrays"


def test_searching_with_arrays_answers_exactly_as_without(indexed, tmp_path):
    backend, root = indexed
    with_arrays = _answers(backend)
    copy = tmp_path / "copy"
    shutil.copytree(root, copy, symlinks=True)
    for path in copy.rglob(f"*{segment_arrays.SUFFIX}"):
        path.unlink()
    plain = WhooshBackend(IndexStore(copy), Glossary.build([], lambda t: t.split()))
    try:
        assert plain._pool.get() is not None and plain._segments.mapped_count() == 0
        without = _answers(plain)
        assert plain._segments.mapped_count() == 0, "searched through Whoosh, not arrays"
    finally:
        plain.close()
    assert backend._segments.mapped_count() == len(_segment_ids(backend, segment_arrays.MIN_DOCS))
    assert any(answer[3] for answer in with_arrays) and any(answer[7] for answer in with_arrays)
    assert with_arrays == without


def test_complete_writes_the_arrays_of_segments_with_an_older_layout(indexed, tmp_path):
    """After an upgrade changes the layout (MAGIC), `flask kb index check --repair` calls
    complete(): every large segment gets its arrays again, and searches read them."""
    backend, root = indexed
    expected = _answers(backend)[:60]
    copy = tmp_path / "copy"
    shutil.copytree(root, copy, symlinks=True)
    files = sorted(copy.rglob(f"*{segment_arrays.SUFFIX}"))
    for path in files:  # as an older version wrote them
        path.write_bytes(b"KBARRAY2" + path.read_bytes()[len(segment_arrays.MAGIC):])
    upgraded = WhooshBackend(IndexStore(copy), Glossary.build([], lambda t: t.split()))
    try:
        assert upgraded.complete() == len(files)
        assert all(path.read_bytes().startswith(segment_arrays.MAGIC) for path in files)
        assert upgraded.complete() == 0  # nothing left to write
        assert _answers(upgraded)[:60] == expected
        assert upgraded._segments.mapped_count() == len(files)
    finally:
        upgraded.close()


@pytest.mark.parametrize("damage", ["truncated", "scrambled"])
def test_a_damaged_arrays_file_is_ignored_and_search_still_answers(indexed, tmp_path, damage):
    backend, root = indexed
    expected = _answers(backend)[:40]
    copy = tmp_path / "copy"
    shutil.copytree(root, copy, symlinks=True)
    files = sorted(copy.rglob(f"*{segment_arrays.SUFFIX}"))
    if damage == "truncated":
        files[0].write_bytes(files[0].read_bytes()[: files[0].stat().st_size // 2])
    else:
        files[0].write_bytes(b"not arrays at all")
    damaged = WhooshBackend(IndexStore(copy), Glossary.build([], lambda t: t.split()))
    try:
        assert _answers(damaged)[:40] == expected
        assert damaged._segments.mapped_count() == len(files) - 1
    finally:
        damaged.close()


def test_saves_write_no_arrays_until_a_merge_makes_a_large_segment_and_whoosh_removes_retired_ones(tmp_path):
    rng = random.Random(3)
    backend = _backend(tmp_path, [_document(i, rng) for i in range(1, 601)])
    try:
        for i in range(601, 616):  # fifteen saves: small segments, merged once there are ten
            document = _document(i, rng)
            backend.apply([i], lambda ids, document=document: {document.id: document})
        assert len(_segment_ids(backend)) < 15 and len(_arrays_files(tmp_path)) == 1
        assert _arrays_files(tmp_path) == _expected_files(backend)
        before = _arrays_files(tmp_path)
        # Merging everything (as an optimize would) retires the large segment: Whoosh deletes
        # its files, the arrays among them, and the merged segment gets arrays of its own.
        ix = backend.store.open()
        writer = backend.store.writer(ix)
        writer.commit(optimize=True)
        backend.write_arrays(backend.store.open())
        assert len(_segment_ids(backend)) == 1
        assert _arrays_files(tmp_path) == _expected_files(backend) and not before & _arrays_files(tmp_path)
        found = backend.search(SearchRequest(text="", readers=(ANYONE,), sort="newest", limit=100))
        assert found.total == 615
    finally:
        backend.close()


def test_a_rebuild_maps_the_new_segments_and_lets_the_old_ones_go(tmp_path):
    rng = random.Random(5)
    backend = _backend(tmp_path, [_document(i, rng) for i in range(1, 601)])
    try:
        backend.search(SearchRequest(text="care", readers=(ANYONE,)))
        old = _segment_ids(backend)
        assert backend._segments.mapped_count() == 1
        backend.rebuild([_document(i, rng) for i in range(1, 601)])
        assert backend.search(SearchRequest(text="", readers=(ANYONE,))).total == 600
        assert not old & _segment_ids(backend)
        assert backend._segments.mapped_count() == len(_segment_ids(backend)), "retired segments unmapped"
    finally:
        backend.close()


def test_sort_orders_follow_the_published_dates_and_titles(indexed):
    backend, root = indexed
    searcher = backend._pool.get()
    checked = 0
    for leaf, _ in searcher.reader().leaf_readers():
        arrays = backend._segments.arrays(leaf)
        if arrays is None:
            continue
        published, titles = list(leaf.column_reader("published")), list(leaf.column_reader("sort_title"))
        keys = {"newest": lambda d: (-published[d], titles[d], d), "oldest": lambda d: (published[d], titles[d], d),
                "title": lambda d: (titles[d], -published[d], d)}
        for sort in segment_arrays.SORTS:
            order = arrays.order(sort).tolist()
            assert order == sorted(range(leaf.doc_count_all()), key=keys[sort])
            assert np.array_equal(arrays.rank(sort)[order], np.arange(len(order)))
            checked += 1
    assert checked


def test_warming_searches_the_commonest_words_and_fills_the_cache(tmp_path):
    rng = random.Random(9)
    backend = _backend(tmp_path, [_document(i, rng) for i in range(1, 601)])
    reports: list[str] = []
    try:
        reader = backend._pool.get().reader()
        frequency = {w.decode(): reader.doc_frequency("title", w) for w in reader.lexicon("title")}
        assert warming.commonest_words(backend, 3) == sorted(frequency, key=lambda w: (-frequency[w], w))[:3]
        thread = warming.warm_in_background(backend, report=reports.append)
        thread.join(timeout=60)
        assert not thread.is_alive()
        assert len(reports) == 1 and reports[0].startswith("search warmed in "), reports
        assert backend._segments.cache.size > 0 and backend._segments.mapped_count() == len(_segment_ids(backend))
    finally:
        backend.close()


@pytest.mark.parametrize("damage", ["missing", "empty folder", "scrambled"])
def test_warming_a_broken_index_reports_it_and_never_raises(tmp_path, damage):
    root = tmp_path / "index"
    if damage != "missing":
        rng = random.Random(1)
        _backend(root, [_document(i, rng) for i in range(1, 20)]).close()
        live = IndexStore(root).live_path()
        for path in live.iterdir():
            if damage == "empty folder":
                path.unlink()
            elif path.suffix == ".toc":
                path.write_bytes(b"scrambled")
    backend = WhooshBackend(IndexStore(root), Glossary.build([], lambda t: t.split()))
    reports: list[str] = []
    try:
        thread = warming.warm_in_background(backend, report=reports.append)
        thread.join(timeout=60)
        assert not thread.is_alive()
        assert len(reports) == 1 and reports[0].startswith("search not warmed: "), reports
    finally:
        backend.close()
