"""How strong a piece of evidence is, in words and as a scale: what result cards, theme and site
lists and an evidence entry's "How strong is this evidence?" box show.

The strength of evidence is scored 1–5 on the Maryland Scientific Methods Scale, but an entry's
score and its study design are set apart (a randomised trial known only from press releases may
be marked down to 3; qualitative studies are scored 1 or 2 by our own rule, see
docs/content-format.md). So the words for a level here never name a design: they say what that
level can and cannot show, whatever the design that earned it.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from kb.models import EntryType, EvidenceDesign, Provenance

STRENGTH_MAX = 5

# What each level can show, in words that fit every design an entry of that level may have.
STRENGTH_LEVELS = {
    1: "It describes what happened or what people reported. It cannot show that the work caused any change.",
    2: "It was gathered systematically, over time or across several places, but with nothing to compare "
       "against, so it cannot rule out other explanations.",
    3: "It compares people or places that had the work with others that did not, which rules out some "
       "other explanations.",
    4: "It compares with others that did not have the work and allows for the main differences between them.",
    5: "A fair comparison that rules out other explanations as far as a single study can.",
}

# What some designs can show whatever their score (only the entry's own design is ever named).
DESIGN_NOTES = {
    EvidenceDesign.QUALITATIVE: "Qualitative studies explain how and why things happened. They do not measure "
                                "effect, so we score them 1 or 2 out of 5.",
    EvidenceDesign.DESCRIPTIVE: "Descriptive evidence reports figures or events without testing what caused them.",
    EvidenceDesign.ECONOMIC: "Economic evidence counts or costs a problem or a service; it does not by itself test "
                             "whether the service works.",
}

# Where the figures come from, as a card says it.
PROVENANCE_SHORT = {
    Provenance.SELF_REPORTED: "Self-reported figures",
    Provenance.LOCAL_EVALUATION: "Local evaluation",
    Provenance.INDEPENDENT_EVALUATION: "Independent evaluation",
    Provenance.PEER_REVIEWED: "Peer-reviewed",
}


def strength_scale(strength: int | None) -> Markup:
    """``●●○○○ Strength 2 of 5``: the dots are hidden from screen readers, which read the words."""
    if not strength:
        return Markup("")
    dots = "●" * strength + "○" * (STRENGTH_MAX - strength)
    return Markup(f'<span class="kb-strength"><span class="kb-strength__dots" aria-hidden="true">{dots}</span> '
                  f'Strength {strength} of {STRENGTH_MAX}</span>')


def evidence_facts(entry) -> Markup:  # noqa: ANN001 - Entry or EntryCard
    """For evaluation evidence, its strength as a scale and where its figures come from (empty
    for other types): the line every listing shows under an entry's type."""
    if entry.type is not EntryType.EVIDENCE or not entry.evidence_strength:
        return Markup("")
    provenance = entry.evidence_provenance
    source = f' <span class="kb-provenance">· {escape(PROVENANCE_SHORT[provenance])}</span>' if provenance else ""
    return Markup(f'<span class="kb-evidence-facts">{strength_scale(entry.evidence_strength)}{source}</span>')


def strength_reason(design: EvidenceDesign | None, strength: int | None) -> str:
    """Why an entry of ``design`` scored ``strength``, in words that never name another design."""
    parts = [STRENGTH_LEVELS.get(strength or 0, "")]
    if design in DESIGN_NOTES:
        parts.append(DESIGN_NOTES[design])
    return " ".join(p for p in parts if p)
