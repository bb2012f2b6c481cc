"""SQLite FTS5 baseline for the search benchmark: the same work as the search page, in SQLite.

Contract
--------
``Fts5Index(path)`` opens a fresh SQLite file (an existing file at ``path`` is replaced);
``Fts5Index(path, existing=True)`` opens one built before, to search it.
``build(entries)`` indexes corpus dicts (see ``bench.corpus``) in one transaction, rowid = entry id.
``search(query, public_only=True, page=1, page_size=20)`` returns::

    {"total": int, "hits": [{"id", "title", "snippet"}, ...], "facets": {facet: {value: count}}}

with facets ``type``, ``site``, ``theme``, ``polarity``, ``year`` and ``strength``, each counted over
the whole matching set (with every filter applied), and ``"error"`` set (and nothing found) when the
query cannot be run. Only ``status='published'`` entries are searched, and with ``public_only`` only
``visibility='public'`` ones. ``size_bytes()`` is the size of the database on disk.

Query syntax (as on the knowledge base's search page): words (implicit AND), "quoted phrases",
upper-case AND / OR / NOT with parentheses, ``prefix*``, and the filters ``site:<slug>``,
``theme:<slug>``, ``polarity:enabler|barrier``, ``type:<type>``, ``strength:N`` (exactly N),
``strength:>=N`` and ``year:YYYY``. Filters anywhere in the query are ANDed with the rest and become
SQL conditions (even inside brackets or beside OR; "NOT site:x" is an error); a site matches the
main site or another site; theme and polarity given together must be on the same tag (as on the
browse page). Every bare term is quoted for FTS5 (so ``A&E`` becomes the phrase "a e"), a prefix
becomes ``"word"*`` (matched against stemmed terms, so ``integrat*`` misses "integr"), and since
FTS5's NOT is binary, "x NOT y" stays in FTS5 while a NOT with nothing to its left becomes
``id NOT IN (SELECT rowid ... MATCH ...)`` at the top level ("a OR NOT b" is an error).

Ranking is bm25 with title 10, summary 5, body 1 and the tag columns 2; a query with no text terms
lists entries newest first. Schema: ``entry`` (facet columns, with enabler/barrier flags),
``entry_site``, ``entry_theme`` and ``tag`` (indexed lookup tables), ``doc`` (the indexed text) and
``fts``, an external-content FTS5 table over ``doc``. Matches go to a temp table ``m`` (id, score);
facets are three GROUP BY passes over it, and snippets are made for the page's hits only.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterable

WEIGHTS = (10.0, 5.0, 1.0, 2.0, 2.0, 2.0)  # title, summary, body, sites, themes, outcomes
FILTERS = ("site", "theme", "polarity", "type", "strength", "year")
TYPES = ("case_study", "intervention", "evidence")
SCHEMA = """
CREATE TABLE entry (id INTEGER PRIMARY KEY, type TEXT NOT NULL, site TEXT NOT NULL, year INTEGER NOT NULL,
                    published TEXT NOT NULL, strength INTEGER, status TEXT NOT NULL, visibility TEXT NOT NULL,
                    enabler INTEGER NOT NULL, barrier INTEGER NOT NULL);  -- has a tag of that polarity
CREATE TABLE entry_site (site TEXT NOT NULL, entry_id INTEGER NOT NULL, PRIMARY KEY (site, entry_id)) WITHOUT ROWID;
CREATE TABLE entry_theme (theme TEXT NOT NULL, entry_id INTEGER NOT NULL, PRIMARY KEY (theme, entry_id)) WITHOUT ROWID;
CREATE TABLE tag (theme TEXT NOT NULL, polarity TEXT NOT NULL, entry_id INTEGER NOT NULL,
                  PRIMARY KEY (theme, polarity, entry_id)) WITHOUT ROWID;
CREATE TABLE doc (id INTEGER PRIMARY KEY, title TEXT, summary TEXT, body TEXT, sites TEXT, themes TEXT,
                  outcomes TEXT);
CREATE VIRTUAL TABLE fts USING fts5(title, summary, body, sites, themes, outcomes,
                                    content='doc', content_rowid='id', tokenize='porter unicode61');
"""
INDEXES = """
CREATE INDEX entry_site_entry ON entry_site (entry_id, site);
CREATE INDEX entry_theme_entry ON entry_theme (entry_id, theme);
CREATE INDEX tag_entry ON tag (entry_id, theme, polarity);
CREATE INDEX entry_published ON entry (published);
"""
FACETS = ("type", "site", "theme", "polarity", "year", "strength")
# Facet counts over the match set in temp table m, in three GROUP BY passes.
ENTRY_FACETS_SQL = ("SELECT e.type, e.year, e.strength, e.enabler, e.barrier, count(*) FROM m"
                    " JOIN entry e ON e.id = m.id GROUP BY 1, 2, 3, 4, 5")
SITE_FACET_SQL = "SELECT s.site, count(*) FROM m JOIN entry_site s ON s.entry_id = m.id GROUP BY 1"
THEME_FACET_SQL = "SELECT t.theme, count(*) FROM m JOIN entry_theme t ON t.entry_id = m.id GROUP BY 1"
TOKEN = re.compile(r'\s*(?:(\()|(\))|"([^"]*)"?|(\w+):([^\s()]+)|([^\s()"]+))')


class QueryError(ValueError):
    """A query that cannot be translated; the message is for the reader."""


def plain_text(markdown: str) -> str:
    """Markdown to plain text with a few regexes (headings, emphasis, links, tables, bullets)."""
    text = re.sub(r"^#{1,6}\s*", "", markdown, flags=re.MULTILINE)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"^\|?[\s:|-]+\|?\s*$", "", text, flags=re.MULTILINE)  # table rule lines
    text = re.sub(r"\*{1,2}([^*\n]+)\*{1,2}", r"\1", text)
    text = re.sub(r"^\s*[-*+]\s+", "", text, flags=re.MULTILINE)
    return re.sub(r"\s*\|\s*", " ", text).strip()


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


class _Parser:
    """Recursive descent over the query tokens, building FTS5 text and collecting filters.

    Grammar: or := and ("OR" and)* ; and := unary (["AND"] unary)* ; unary := "NOT" unary | primary ;
    primary := "(" or ")" | phrase | term. A missing ")" is closed and a stray ")" or an operator with
    no operand is dropped, as a search box should. Each node is ``(positive, negatives)``: an FTS5
    expression that must match (or None) and FTS5 expressions that must not.
    """

    def __init__(self, query: str):
        self.filters: list[tuple[str, str]] = []
        self.tokens: list[tuple[str, str]] = []
        for m in TOKEN.finditer(query):
            open_, close, phrase, field, value, word = m.groups()
            if open_ or close:
                self.tokens.append(("(" if open_ else ")", ""))
            elif phrase is not None:
                if re.search(r"\w", phrase):
                    self.tokens.append(("text", _quote(phrase)))
            elif field is not None and field.lower() in FILTERS:
                self.filters.append((field.lower(), value))
                self.tokens.append(("filter", ""))  # kept in place only to reject "NOT site:x"
            else:
                word = word if word is not None else f"{field}:{value}"
                if word in ("AND", "OR", "NOT"):
                    self.tokens.append((word, ""))
                elif word.endswith("*") and len(re.sub(r"\W", "", word)) >= 3:
                    self.tokens.append(("text", _quote(word.rstrip("*")) + "*"))
                elif re.search(r"\w", word):
                    self.tokens.append(("text", _quote(word.rstrip("*"))))
        self.pos = 0

    def parse(self) -> tuple[str | None, list[str]]:
        """(FTS5 expression that must match, or None; FTS5 expressions that must not match)."""
        node = self._or()
        while self.pos < len(self.tokens):  # a stray ")": skip it and go on
            self.pos += 1
            node = _and_nodes(node, self._or())
        return (_finish(node), []) if node[0] else (None, node[1])

    def _peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def _or(self) -> tuple[str | None, list[str]]:
        parts = [self._and()]
        while self._peek() == "OR":
            self.pos += 1
            parts.append(self._and())
        parts = [p for p in parts if p != EMPTY]
        if len(parts) <= 1:
            return parts[0] if parts else EMPTY
        if any(p[0] is None for p in parts):
            raise QueryError("NOT can only take words away from other words: write 'a NOT b', not 'a OR NOT b'.")
        return "(" + " OR ".join(_finish(p) for p in parts) + ")", []

    def _and(self) -> tuple[str | None, list[str]]:
        node = self._unary()
        while self._peek() not in (None, ")", "OR"):
            if self._peek() == "AND":
                self.pos += 1
            node = _and_nodes(node, self._unary())
        return node

    def _unary(self) -> tuple[str | None, list[str]]:
        kind = self._peek()
        if kind in (None, ")"):
            return EMPTY
        self.pos += 1
        if kind in ("OR", "AND", "filter"):  # an operator with nothing on its left, or a filter
            return EMPTY
        if kind == "NOT":
            if self._peek() == "filter":
                raise QueryError("NOT cannot be used with a filter such as site: or theme:.")
            node = self._unary()
            if node == EMPTY:
                return EMPTY
            if node[0] is None:
                raise QueryError("NOT NOT is not supported: leave both out.")
            return None, [_finish(node)]
        if kind == "(":
            node = self._or()
            if self._peek() == ")":
                self.pos += 1
            return node
        return self.tokens[self.pos - 1][1], []


EMPTY: tuple[str | None, list[str]] = (None, [])


def _and_nodes(left: tuple, right: tuple) -> tuple[str | None, list[str]]:
    """Both nodes must hold: AND the positives, keep every negative."""
    positives = [p for p in (left[0], right[0]) if p]
    positive = positives[0] if len(positives) == 1 else "(" + " AND ".join(positives) + ")" if positives else None
    return positive, left[1] + right[1]


def _finish(node: tuple) -> str:
    """One FTS5 expression for a node that has a positive part: '(p NOT (n1 OR n2))'."""
    positive, negatives = node
    if not negatives:
        return positive
    return f"({positive} NOT ({' OR '.join(negatives)}))"


def _filter_sql(filters: list[tuple[str, str]]) -> tuple[list[str], list]:
    """SQL conditions on ``e`` (the entry table) for the query's field filters."""
    by_field: dict[str, list[str]] = {}
    for field, value in filters:
        by_field.setdefault(field, []).append(value)
    where, args = [], []
    for slug in by_field.get("site", []):
        where.append("EXISTS (SELECT 1 FROM entry_site s WHERE s.site = ? AND s.entry_id = e.id)")
        args.append(slug)
    polarities = by_field.get("polarity", [])
    for polarity in polarities:
        if polarity not in ("enabler", "barrier"):
            raise QueryError(f"polarity must be enabler or barrier, not '{polarity}'.")
    for theme in by_field.get("theme", []):
        where.append("EXISTS (SELECT 1 FROM tag t WHERE t.theme = ? AND t.entry_id = e.id"
                     + "".join(" AND t.polarity = ?" for _ in polarities) + ")")
        args += [theme, *polarities]
    if polarities and "theme" not in by_field:
        where += [f"e.{polarity} = 1" for polarity in polarities]  # checked above: a column name
    for value in by_field.get("type", []):
        if value not in TYPES:
            raise QueryError(f"type must be one of {', '.join(TYPES)}, not '{value}'.")
        where.append("e.type = ?")
        args.append(value)
    for value in by_field.get("strength", []):
        m = re.fullmatch(r"(>=)?([1-5])", value)
        if not m:
            raise QueryError(f"strength must be 1 to 5, or >=1 to >=5, not '{value}'.")
        where.append("e.strength >= ?" if m.group(1) else "e.strength = ?")
        args.append(int(m.group(2)))
    for value in by_field.get("year", []):
        if not re.fullmatch(r"\d{4}", value):
            raise QueryError(f"year must be four digits, not '{value}'.")
        where.append("e.year = ?")
        args.append(int(value))
    return where, args


def translate(query: str) -> tuple[str | None, list[str], list[str], list]:
    """(FTS5 MATCH expression or None, FTS5 expressions to exclude, SQL conditions, SQL arguments).

    :raise QueryError: for a filter value or a NOT that cannot be used.
    """
    parser = _Parser(query)
    match, exclude = parser.parse()
    where, args = _filter_sql(parser.filters)
    return match, exclude, where, args


class Fts5Index:
    """An SQLite FTS5 index of corpus entries; see the module docstring."""

    def __init__(self, path: str, existing: bool = False):
        """A fresh index at ``path``, or with ``existing`` the one a :meth:`build` left there."""
        if not existing:
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
        elif not os.path.exists(path):
            raise FileNotFoundError(path)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA cache_size=-131072")  # 128 MiB
        self.db.execute("PRAGMA temp_store=MEMORY")
        self.db.execute("PRAGMA mmap_size=1073741824")
        if not existing:
            self.db.executescript(SCHEMA)
        self.db.execute("CREATE TEMP TABLE m (id INTEGER PRIMARY KEY, score REAL)")

    def build(self, entries: Iterable[dict]) -> None:
        """Index ``entries`` in one transaction, then merge the FTS5 segments and ANALYZE."""
        db = self.db
        db.execute("BEGIN")
        for e in entries:
            id_ = e["id"]
            sites = [(e["site"], e["site_name"]), *e["other_sites"]]
            published, polarities = e["published"], {t["polarity"] for t in e["themes"]}
            db.execute("INSERT INTO entry VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (id_, e["type"], e["site"], published.year, published.isoformat(), e["strength"],
                        e["status"], e["visibility"], "enabler" in polarities, "barrier" in polarities))
            db.executemany("INSERT OR IGNORE INTO entry_site VALUES (?, ?)", [(slug, id_) for slug, _ in sites])
            db.executemany("INSERT OR IGNORE INTO entry_theme VALUES (?, ?)", [(t["slug"], id_) for t in e["themes"]])
            db.executemany("INSERT OR IGNORE INTO tag VALUES (?, ?, ?)",
                           [(t["slug"], t["polarity"], id_) for t in e["themes"]])
            text = e["body_text"] if "body_text" in e else plain_text(e["body"])  # as saved, when given
            row = (id_, e["title"], e["summary"], text, " ; ".join(name for _, name in sites),
                   " ; ".join(f"{t['name']}: {t['note']}" for t in e["themes"]), " ; ".join(e["outcomes"]))
            db.execute("INSERT INTO doc VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            db.execute("INSERT INTO fts (rowid, title, summary, body, sites, themes, outcomes)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?)", row)
        for statement in INDEXES.strip().split(";")[:-1]:
            db.execute(statement)  # executescript() would commit
        db.execute("INSERT INTO fts (fts) VALUES ('optimize')")
        db.execute("COMMIT")
        db.execute("ANALYZE")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def search(self, query: str, public_only: bool = True, page: int = 1, page_size: int = 20) -> dict:
        """One page of hits for ``query`` with the total and facet counts; see the module docstring."""
        try:
            match, exclude, where, args = translate(query)
            return self._search(match, exclude, where, args, public_only, page, page_size)
        except (QueryError, sqlite3.OperationalError) as exc:
            return {"total": 0, "hits": [], "facets": {name: {} for name in FACETS}, "error": str(exc)}

    def _search(self, match, exclude, where, args, public_only, page, page_size) -> dict:
        db = self.db
        where = ["e.status = 'published'", *(["e.visibility = 'public'"] if public_only else []), *where]
        for expression in exclude:
            where.append("e.id NOT IN (SELECT rowid FROM fts WHERE fts MATCH ?)")
            args = [*args, expression]
        db.execute("DELETE FROM m")
        if match:
            weights = ", ".join(str(w) for w in WEIGHTS)
            db.execute(f"INSERT INTO m SELECT fts.rowid, bm25(fts, {weights}) FROM fts JOIN entry e"
                       f" ON e.id = fts.rowid WHERE fts MATCH ? AND {' AND '.join(where)}", [match, *args])
        else:  # filters only: newest first
            db.execute(f"INSERT INTO m SELECT e.id, -julianday(e.published) FROM entry e"
                       f" WHERE {' AND '.join(where)}", args)
        total = db.execute("SELECT count(*) FROM m").fetchone()[0]
        ids = [r[0] for r in db.execute("SELECT id FROM m ORDER BY score, id LIMIT ? OFFSET ?",
                                        (page_size, (page - 1) * page_size))]
        return {"total": total, "hits": self._hits(ids, match), "facets": self._facets()}

    def _facets(self) -> dict[str, dict]:
        """Counts per facet value over the match set in m (an entry counts once per value it has)."""
        facets: dict[str, dict] = {name: {} for name in FACETS}
        for type_, year, strength, enabler, barrier, count in self.db.execute(ENTRY_FACETS_SQL):
            pairs = [("type", type_), ("year", year), ("strength", strength)]
            pairs += [("polarity", polarity) for polarity, has in (("enabler", enabler), ("barrier", barrier)) if has]
            for name, value in pairs:
                if value is not None:
                    facets[name][value] = facets[name].get(value, 0) + count
        facets["site"] = dict(self.db.execute(SITE_FACET_SQL).fetchall())
        facets["theme"] = dict(self.db.execute(THEME_FACET_SQL).fetchall())
        return facets

    def _hits(self, ids: list[int], match: str | None) -> list[dict]:
        """Titles and body snippets for ``ids``, in that order."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        if match:
            # Prefix terms are costly to expand once per rowid lookup, so for those scan the matches
            # once (+rowid stops SQLite handing the IN list to FTS5); snippets are made only for ids.
            rowid = "+fts.rowid" if '"*' in match else "fts.rowid"
            rows = self.db.execute(
                f"SELECT fts.rowid, fts.title, snippet(fts, 2, '<mark>', '</mark>', '…', 24) FROM fts"
                f" WHERE fts MATCH ? AND {rowid} IN ({marks})", [match, *ids])
        else:
            rows = self.db.execute(f"SELECT id, title, summary FROM doc WHERE id IN ({marks})", ids)
        found = {id_: {"id": id_, "title": title, "snippet": snippet} for id_, title, snippet in rows}
        return [found[i] for i in ids if i in found]

    def size_bytes(self) -> int:
        """Bytes on disk: the database file and any write-ahead log."""
        return sum(os.path.getsize(self.path + s) for s in ("", "-wal") if os.path.exists(self.path + s))

    def close(self) -> None:
        self.db.close()
