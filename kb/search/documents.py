"""What the index holds for an entry: :class:`IndexDocument`, built from a database row.

A document carries everything search needs and nothing it must not show: the entry's id and
state (so the index can be checked against the database), the words to match, the values to
filter and count by, and the *readers* labels that decide who may ever see it as a hit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from kb.markdown import to_plain_text
from kb.models import Entry, EntryStatus, Visibility

# Readers labels. A search is always restricted to the labels of the person searching, so a
# document without a label they hold cannot be a hit, a count, a snippet or a suggestion.
ANYONE = "anyone"
MEMBERS = "members"


@dataclass(frozen=True)
class IndexDocument:
    """One entry as the search index sees it. ``stamp`` changes whenever the document must."""

    id: int
    stamp: str
    title: str
    summary: str
    body: str  # plain text, Markdown removed: markup must not glue or hide words
    about: str  # site names, theme names and notes, outcome measures
    type: str
    sites: tuple[str, ...]
    themes: tuple[str, ...]
    tags: tuple[str, ...]  # "<theme>:<polarity>", so theme and polarity filter the same tag
    polarities: tuple[str, ...]
    year: int | None
    published: date | None
    strength: int | None
    readers: tuple[str, ...] = field(default=())


def stamp_for(version: int, status: str, visibility: str) -> str:
    """The state a document was built from; :mod:`kb.search.consistency` compares these."""
    return f"{version}|{status}|{visibility}"


def readers_for(status: str, visibility: str) -> tuple[str, ...]:
    """Who may find an entry in this state.

    Published public entries: everyone. Published network entries: signed-in members. Anything
    else (drafts, in review, archived) carries no reader label, so no reader search finds it.
    """
    if status != EntryStatus.PUBLISHED.value:
        return ()
    if visibility == Visibility.PUBLIC.value:
        return (ANYONE, MEMBERS)
    return (MEMBERS,)


def document_for(entry: Entry) -> IndexDocument:
    """Build the index document for ``entry`` (its site, other sites, tags and outcomes loaded)."""
    sites = [entry.site] if entry.site is not None else []
    sites += [site for site in entry.other_sites if site not in sites]
    about = [site.name for site in sites]
    for tag in entry.theme_tags:
        about += [tag.theme.name, tag.note]
    about += [outcome.measure_label for outcome in entry.outcomes]
    status, visibility = entry.status.value, entry.visibility.value
    return IndexDocument(
        id=entry.id,
        stamp=stamp_for(entry.version, status, visibility),
        title=entry.title,
        summary=entry.summary,
        body=entry.body_text if entry.body_text is not None else to_plain_text(entry.body),
        about=" \n".join(about),
        type=entry.type.value,
        sites=tuple(site.slug for site in sites),
        themes=tuple(dict.fromkeys(tag.theme.slug for tag in entry.theme_tags)),
        tags=tuple(dict.fromkeys(f"{tag.theme.slug}:{tag.polarity.value}" for tag in entry.theme_tags)),
        polarities=tuple(dict.fromkeys(tag.polarity.value for tag in entry.theme_tags)),
        year=entry.published_on.year if entry.published_on else None,
        published=entry.published_on,
        strength=entry.evidence_strength,
        readers=readers_for(status, visibility),
    )
