"""The content check: what a reader can trust about content/ (issue 13).

Every entry is sourced, evidence says how it was found, nothing copies the sources' sentences,
every theme and site is in use, and the coverage the knowledge base promises holds: every pioneer
site with three public entries or a stated reason, the four themes the programme's first annual
report named seen from both sides, every Better Care Fund measure in use. The files are read as
``flask kb import`` reads them (kb/services/content_io/reading.py), without a database.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml

from kb.config import PROJECT_ROOT
from kb.models import BCF_MEASURES
from kb.services.content_io.reading import read_file
from tests.content_passages import SourcePassages, is_list_of_names

CONTENT = PROJECT_ROOT / "content"
# The annual report's four themes, each wanted with at least this many entries and both sides.
ANNUAL_REPORT_THEMES = ("leadership", "relationships-trust", "information-governance", "data-sharing")
THEME_ENTRIES = 5
SITE_ENTRIES = 3
# A pioneer with fewer public entries says why on its page, under this heading.
FEW_ENTRIES_HEADING = "## Why there are few entries"


def _read(kind: str) -> dict[str, dict]:
    records = {}
    for path in sorted((CONTENT / kind).glob("*.md")):
        read = read_file(path, CONTENT, kind)
        assert not read.errors, f"{path}: {read.errors}"
        records[read.slug] = read.record
    return records


ENTRIES = _read("entries")
SITES = _read("sites")
THEMES = [theme["slug"] for theme in yaml.safe_load((CONTENT / "themes.yml").read_text(encoding="utf-8"))]
PUBLIC = {slug: e for slug, e in ENTRIES.items() if e.get("status", "published") == "published"
          and e.get("visibility", "public") == "public"}


def test_every_entry_names_its_sources():
    unsourced = [slug for slug, entry in ENTRIES.items()
                 if not any(source.get("title") and (source.get("url") or source.get("date"))
                            for source in entry.get("sources", []))]
    assert unsourced == []  # a source needs a title and an address or a date to be found again


def test_every_evidence_entry_says_how_the_evidence_was_found():
    incomplete = [slug for slug, entry in ENTRIES.items() if entry["type"] == "evidence"
                  and not all(entry.get("evidence", {}).get(key) for key in ("design", "strength", "provenance"))]
    assert incomplete == []


def test_every_evidence_entry_says_why_it_has_its_strength():
    missing = [slug for slug, e in ENTRIES.items() if e.get("evidence") and not e["evidence"].get("strength_reason")]
    assert missing == []


def test_every_entry_site_and_theme_says_when_it_was_last_reviewed():
    themes = yaml.safe_load((CONTENT / "themes.yml").read_text(encoding="utf-8"))
    assert [slug for slug, e in ENTRIES.items() if not e.get("reviewed")] == []
    assert [slug for slug, site in SITES.items() if not site.get("reviewed")] == []
    assert [theme["slug"] for theme in themes if not theme.get("reviewed")] == []


def test_every_entry_has_a_review_by_date():
    assert [slug for slug, entry in ENTRIES.items() if not entry.get("review_by")] == []


def test_no_entry_copies_a_passage_of_the_sources():
    sources = SourcePassages()
    copied = {}
    for path in sorted((CONTENT / "entries").glob("*.md")) + sorted((CONTENT / "sites").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        # The titles of the articles cited are theirs, not prose of ours.
        prose = "\n".join(line for line in text.splitlines() if not line.startswith("  - {title:"))
        runs = [run for run in sources.copied(prose) if not is_list_of_names(run)]
        if runs:
            copied[path.name] = runs
    assert copied == {}


def test_every_theme_and_site_is_used_by_a_public_entry():
    themes_used = {tag["theme"] for entry in PUBLIC.values() for tag in entry["themes"]}
    sites_used = {site for entry in PUBLIC.values() for site in [entry.get("site"), *entry.get("other_sites", [])]}
    unexplained = {slug for slug, site in SITES.items() if slug not in sites_used
                   and FEW_ENTRIES_HEADING not in site["body"]}
    assert [t for t in THEMES if t not in themes_used] == [] and unexplained == set()


def test_every_pioneer_has_three_public_entries_or_says_why_not():
    count = Counter(entry.get("site") for entry in PUBLIC.values())
    short = {slug: count[slug] for slug, site in SITES.items() if site["kind"] == "pioneer"
             and count[slug] < SITE_ENTRIES and FEW_ENTRIES_HEADING not in site["body"]}
    assert short == {}


@pytest.mark.parametrize("theme", ANNUAL_REPORT_THEMES)
def test_the_annual_reports_themes_are_seen_from_both_sides(theme):
    sides = defaultdict(set)
    for slug, entry in PUBLIC.items():
        for tag in entry["themes"]:
            if tag["theme"] == theme:
                sides[tag["polarity"]].add(slug)
    entries = sides["enabler"] | sides["barrier"]
    assert len(entries) >= THEME_ENTRIES and sides["enabler"] and sides["barrier"], dict(sides)


def test_no_theme_rests_on_a_single_entry():
    uses = Counter(tag["theme"] for entry in PUBLIC.values() for tag in {t["theme"]: t for t in entry["themes"]}.values())
    assert {theme: n for theme, n in uses.items() if n < 2} == {}


def test_every_better_care_fund_measure_is_reported_by_an_evidence_entry():
    measured = {outcome["measure"] for entry in PUBLIC.values() if entry["type"] == "evidence"
                for outcome in entry["evidence"]["outcomes"]}
    assert [measure for measure in BCF_MEASURES if measure not in measured] == []


def test_at_least_a_hundred_entries_are_published():
    assert len([e for e in ENTRIES.values() if e.get("status", "published") == "published"]) >= 100
