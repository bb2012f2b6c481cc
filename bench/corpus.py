"""Synthetic Pioneer Knowledge Base entries for search benchmarks.

Contract
--------
``generate(n, seed=2013)`` yields ``n`` entry dicts with ids 1..n. The output depends only on
``(n, seed)``, and the first k entries are the same whatever ``n`` is. Each dict has: ``id``,
``slug`` (unique), ``title`` (6-14 words), ``summary`` (25-50 words), ``body`` (Markdown, about
700-1,300 words: ``##`` sections, paragraphs, ``-`` bullets, some **bold**, *italic*, links and a
small table), ``type``, ``site``, ``site_name``, ``other_sites`` [(slug, name)], ``themes``
[{slug, name, polarity, note}], ``published`` (date), ``strength`` (evidence only, else None),
``outcomes`` (evidence only), ``status`` and ``visibility``.

Sites (25 pioneers) and themes (31) are read from ``content/``. The text is built from a few
hundred health and social care words and phrases, picked with Zipf-like weights, plus a fixed
long tail of generated place and scheme names, so term frequencies look like real prose.

Each entry leans on two of 60 "topics" (sets of favoured phrases), so words cluster by entry. For
speed, all texts are built once per seed into pools whose per-entry slots ({s} site, {o} another
site, {p0} {p1} places, {t0}-{t5} rare words) are filled by one ``format_map`` per text.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import yaml

CONTENT = Path(__file__).resolve().parent.parent / "content"
EXCLUDED_SITES = {"canterbury-nz", "central-bedfordshire", "north-east-lincolnshire"}
BCF_LABELS = ["Non-elective (emergency) admissions", "Permanent admissions to residential and nursing care",
              "Still at home 91 days after reablement", "Delayed transfers of care",
              "Patient and service user experience"]
FREE_OUTCOMES = ["A&E attendances", "Falls", "Length of stay", "Carer wellbeing", "Readmissions within 30 days",
                 "Days spent at home", "Quality of life (EQ-5D)", "Cost per person"]
OUTCOMES = BCF_LABELS + FREE_OUTCOMES
OUTCOME_CUM = list(itertools.accumulate([3.0] * len(BCF_LABELS) + [1.0] * len(FREE_OUTCOMES)))
TYPES = ("case_study", "intervention", "evidence")
POPULAR_THEMES = {"multidisciplinary-teams", "data-sharing", "workforce", "better-care-fund", "leadership",
                  "information-governance", "evaluation-and-evidence", "pooled-budgets", "financial-pressure"}
FIRST_DAY, LAST_DAY = dt.date(2013, 11, 1), dt.date(2026, 10, 31)
YEAR_WEIGHTS = {2013: 1, 2014: 10, 2015: 12, 2016: 12, 2017: 11, 2018: 10, 2019: 9, 2020: 5, 2021: 4,
                2022: 3.5, 2023: 3, 2024: 3, 2025: 2.5, 2026: 2}
YEAR_CUM = list(itertools.accumulate(YEAR_WEIGHTS.values()))
TAIL_SIZE, PLACE_SIZE = 60_000, 6_000
TOPICS, TOPIC_SENTENCES, CORE_SHARE, GENERAL_SHARE = 60, 800, 0.9, 0.1  # see _Pools and _body
CORE_SIZES = {"N": 12, "C": 2, "O": 3, "P": 3, "R": 3}  # what each topic favours
ZIPF_S = {"N": 0.8}  # exponent per slot (default 1.0); domain phrases get a flatter curve


def _words(text: str) -> list[str]:
    """Split a '|'-separated list written across lines (a line break inside an item is a space)."""
    return [w.strip() for w in " ".join(text.split()).split("|") if w.strip()]


# Slot vocabularies, most frequent first (picked with Zipf weights).
VOCAB = {
    "N": _words("""care homes|hospital discharge|social care|general practice|community nurses|GP practices
        |the multidisciplinary team|care navigators|carers|frailty|falls|reablement|mental health services|housing
        |A&E|the voluntary sector|the Better Care Fund|the BCF|delayed transfers of care|DToC|the MDT
        |non-elective admissions|information governance|IG|the data sharing agreement|the pooled budget
        |the shared care record|risk stratification|personal health budgets|social isolation|telehealth|telecare
        |integrated care teams|neighbourhood teams|district nursing|intermediate care|step-up beds
        |the rapid response service|hospital at home|the virtual ward|care plans|anticipatory care plans
        |long-term conditions|dementia care|end of life care|palliative care|home care|domiciliary care
        |residential care|nursing homes|extra care housing|disabled facilities grants|adult social care
        |the health and wellbeing board|the clinical commissioning group|the CCG|the local authority|the council
        |the acute trust|the community trust|the section 75 agreement|the lead provider|the capitated budget
        |the alliance agreement|the outcomes framework|the evaluation|the business case|the logic model
        |the dashboard|performance data|linked data|the NHS number|the consent model|the Caldicott guardian
        |the privacy impact assessment|the single point of access|care coordination|key workers|health coaches
        |social prescribing|link workers|community connectors|peer support|self-care|self-management
        |patient activation|co-production|volunteers|befriending|community groups|faith groups
        |housing associations|the fire service|the ambulance service|NHS 111|out-of-hours services|urgent care
        |the minor injuries unit|the emergency department|length of stay|readmissions|bed days|discharge to assess
        |trusted assessors|continuing healthcare|medicines optimisation|polypharmacy|medication reviews
        |falls prevention|hydration|nutrition|pressure ulcers|urinary tract infections|dementia diagnosis
        |the memory clinic|crisis response|liaison psychiatry|IAPT|learning disabilities|transforming care
        |safeguarding|mental capacity assessments|carers' assessments|respite care|direct payments
        |personal budgets|integrated personal commissioning|population health management|the risk tool
        |the electronic frailty index|GP registers|primary care networks|GP federations|practice nurses
        |the care home support team|enhanced health in care homes|workforce development|recruitment|retention
        |agency staff|joint posts|joint commissioning|commissioning intentions|procurement|payment by results
        |the tariff|block contracts|financial risk|savings|QIPP plans|cost avoidance|return on investment
        |the programme board|governance|the steering group|the project team|the programme manager|clinical leads
        |chief executives|elected members|Healthwatch|estates|co-location|the integrated hub|IT systems
        |interoperability|EMIS|SystmOne|the care record portal|NHSmail|digital inclusion|technology enabled care
        |remote monitoring|pendant alarms|assistive technology|podiatry|wound care|continence services
        |the stroke pathway|cardiac rehabilitation|pulmonary rehabilitation|the falls clinic|virtual clinics
        |video consultations|homelessness|fuel poverty|loneliness|welfare advice|debt advice|public health
        |health checks|smoking cessation|physical activity|weight management|school nurses|health visitors
        |the MASH"""),
    "P": _words("""older people|patients|carers|frail older people|people with long-term conditions|residents
        |service users|people with dementia|families|people at high risk of admission|people living alone
        |adults with learning disabilities|people with multiple conditions|care home residents|young carers
        |people with severe mental illness|people who are homeless|people leaving hospital|people over 75
        |housebound patients|people in the last year of life|people with COPD|people with diabetes"""),
    "R": _words("""social workers|GPs|district nurses|community matrons|occupational therapists|physiotherapists
        |care navigators|pharmacists|consultant geriatricians|practice managers|home care workers|paramedics
        |mental health nurses|housing officers|commissioners|finance directors|analysts|volunteers
        |reablement workers|care home managers|discharge coordinators|psychiatrists|dietitians"""),
    "O": _words("""emergency admissions|A&E attendances|delayed transfers of care|length of stay|readmissions
        |permanent admissions to care homes|non-elective admissions|bed days|falls|ambulance conveyances
        |patient experience|carer wellbeing|quality of life|outpatient appointments|GP appointments|DToC|costs
        |waiting times|hospital deaths|unplanned admissions|care home placements"""),
    "V": _words("""reduced|improved|supported|helped|changed|cut|increased|shaped|slowed|shared|tested|doubled
        |halved|reviewed|strengthened|simplified|joined up|speeded up|undermined|delayed|complicated|stalled"""),
    "W": _words("""reduce|improve|support|help|change|cut|share|test|review|strengthen|simplify|join up|speed up
        |avoid|prevent|manage|coordinate|track|measure|fund|agree|plan|deliver|sustain"""),
    "A": _words("""joint|integrated|local|new|small|early|shared|clear|national|weekly|monthly|single|better
        |strong|weak|formal|informal|practical|complex|simple|common|different|limited|careful|modest|significant
        |reliable|regular|urgent|planned|proactive|reactive|fragmented|coterminous|statutory|voluntary|digital
        |paper-based|person-centred|holistic|preventive|sustainable|ambitious|cautious"""),
    "G": _words("""pilot|approach|plan|budget|service|team|process|model|project|partnership|scheme|review
        |agreement|contract|programme|pathway|protocol|workshop|network|hub|rota|meeting|board|forum|framework
        |strategy|policy|tool|system|register|referral route|caseload|assessment|visit|survey|dashboard|timetable
        |template|checklist|audit|trial|evaluation|report|conversation|campaign|group|office"""),
    "D": _words("""quickly|slowly|gradually|often|rarely|consistently|together|early|formally|informally|jointly
        |locally|routinely|carefully|successfully|eventually|initially|properly"""),
    "C": _words("""COPD|heart failure|diabetes|dementia|stroke|Parkinson's disease|depression|anxiety|asthma
        |osteoporosis|arthritis|hypertension|atrial fibrillation|cancer|chronic kidney disease|delirium|sepsis
        |pneumonia|cellulitis|motor neurone disease|multiple sclerosis|schizophrenia|epilepsy|warfarin|metformin
        |insulin|statins|antipsychotics|opioids|anticoagulants|inhalers|frusemide|donepezil|levothyroxine
        |amoxicillin|bisphosphonates"""),
    "K": _words("Monday|Tuesday|Wednesday|Thursday|Friday|morning|afternoon|fortnight"),
}
NUMBERS = {  # slots filled with made-up figures
    "Z": lambda rng: f"{rng.randint(2, 60)}%",
    "Q": lambda rng: f"{rng.randint(12, 20_000):,}",
    "S": lambda rng: str(rng.randint(2, 24)),
    "E": lambda rng: f"£{rng.randint(1, 90) / 10:.1f}m" if rng.random() < 0.6 else f"£{rng.randint(20, 900)},000",
    "Y": lambda rng: str(rng.randint(2011, 2019)),
    "M": lambda rng: dt.date(2000, rng.randint(1, 12), 1).strftime("%B"),
}
REAL_PLACES = _words("""Keighley|Skipton|Ilkley|Settle|Bingley|Otley|Penistone|Kentish Town|Holloway|Stockport
    |Oldham|Wigan|Salford|Eltham|Woolwich|Thamesmead|Archway|Ashford|Thanet|Maidstone|Armley|Chapeltown|Harehills
    |Ealing|Hounslow|Mansfield|Worksop|Bulwell|Hillsborough|Darnall|Totnes|Paignton|Newton Abbot|Yeovil|Chard
    |Jarrow|Hebburn|Shoeburyness|Leigh-on-Sea|Tamworth|Cannock|Selby|Malton|Pontefract|Castleford|Leyton
    |Walthamstow|Chingford|King's Lynn|Downham Market|Redditch|Kidderminster|Evesham|Blackpool|Fleetwood|Truro
    |Penzance|Bodmin|Crewe""")
TEMPLATES = _words("""The <N> <V> <O> for <P> in {p0}.|In {s}, <R> and <R> worked <D> with <N>.
    |Staff said that <N> <V> the way <R> shared information about <P>.|Over <Z> of <P> were referred to <N>.
    |We found that <A> <N> <V> <O> by <Z> over <Y>.|<R> met every <K> to review <P> at risk of <O>.
    |The {T0} scheme was set up by <R> to <W> <O> for <P>.|It took <S> months to agree <N>.
    |Without <N>, <R> could not <W> <O>.|The <A> <G> made it easier to <W> <N>.
    |Partners in {s} used <N> to <W> <O> and <W> <N>.|Some <R> were worried about <N> and <N>.
    |A <A> <G> between <N> and <N> was agreed in <M> <Y>.|<P> with <C> were offered <N>.
    |The <G> covered <Q> people in {p0} and {p1}.|As one of the <R> put it, the <G> was about trust.
    |<N> and <N> were the main barriers to <A> working.|At first, <N> <V> <O>, but the effect faded.
    |The team used the {t0} tool to find <P> who might need <N>.
    |<R> from {o} visited to see how <N> worked in practice.|It is not clear whether <N> <V> <O>.
    |The evaluation compared <P> with a matched group in {p1}.|The <G> cost <E> in its first year.
    |<R> reported that <P> felt more in control of their <C> care.|In <Y>, <N> <V> <O> in {p0}.
    |The {T1} project brought <R>, <R> and <N> into one <G>.|<P> told us that <N> mattered most.
    |Monthly figures on <O> were reported to <N>.|The <A> <G> depended on <N> and <A> <N>.
    |Changes to <N> meant that <R> had to <W> <N> <D>.|The {t1} approach spread to <S> GP practices.
    |The business case assumed that <N> would <W> <O> by <Z>.|<N> gave <R> a <A> view of <P>.
    |Data from <N> and <N> were linked using the NHS number.|We do not know how many <P> were reached.
    |Funding for <N> came from the <G> and the BCF.|The <G> with {s} helped to <W> <N>.
    |<R> at {p0} Medical Practice ran a <A> <G> for <P>.|The <N> was <D> <V> after <S> weeks.
    |Referrals came from <R>, <R> and <N>.|For <P>, the <G> meant fewer <O> and less <G>.
    |A <A> review of <N> found <A> gaps in <N>.|The <G> stalled when <N> <V> the <G>.
    |<A> leadership and <N> were both needed.|Each person had a named <G> and a shared care plan.
    |The {T2} hub in {p1} housed <R>, <R> and <R>.|<R> were trained in <N> and <N>.
    |There was no <A> <G> for <O>, so claims about <N> are untested.|Most <P> were seen within <S> days.
    |The <A> <G> on <N> was signed by <S> partners.|Delays in <N> led to <A> <O>.
    |<N> for <P> with <C> relied on <R>.|The {t2} pilot in {p0} ended in <M> <Y>.
    |Local <R> described <N> as <A> but <A>.|<Q> <P> took part in the {t3} survey.
    |The <G> was run by <N> on behalf of {s}.|<N> and the {T3} <G> were later merged.
    |Before the pioneer programme, <N> and <N> were funded separately.|<R> in {p1} were the first to <W> <N>.
    |The main lesson was that <N> takes longer than expected.|Spending on <N> rose to <E> by <Y>.
    |<P> who used <N> had <Z> fewer <O> than the comparison group.|This is consistent with reports from {o}.
    |It was hard to tell whether <N> or <N> made the difference.|<R> spent about <S> hours a week on <N>.
    |The national team offered help with <N>, but it came late.|From <M> <Y>, all <P> were offered <N>.
    |<A> conversations with <R> built support for <N>.|The {t5} database held records for <Q> <P>.
    |Agreement on <N> was reached only after <S> meetings of <N>.|The figures on <O> are self-reported.
    |Because of <N>, <R> in {p0} could see GP records for the first time.|<N> was not part of the original plan.
    |Turnover among <R> meant that <N> had to be re-explained.|The {T4} service now covers all of {s}.
    |Most of the savings came from fewer <O> among <P>.|Councils and the NHS counted <O> in different ways.
    |<R> said the <A> <G> saved them time.|The {t4} <G> was paid for from the pooled budget.
    |In the first year, <Q> referrals were made to <N>.|Further work is needed on <N> and <N>.""")
SUMMARIES = _words("""This case study describes how {s} used <N> and <N> to <W> <O> for <P>. It sets out what
    helped, what got in the way and what others could learn from the <A> <G>.
    |<R> in {s} set up <A> <N> for <P> with <C>. The <G> <V> <O>, although the figures are self-reported and the
    comparison is not described in any detail.
    |An evaluation of <N> in {p0} that compared <P> with a matched group. <O> fell by <Z>, but the study was small
    and the effect on <O> was unclear.
    |The {T0} <G> brought <R>, <R> and <N> together in one <G> in {s}, so that <P> had a single point of contact
    and fewer <O>.
    |What {s} learned about <N> and <N> when it tried to <W> <O>. Leadership, <N> and time were the main lessons
    for other pioneers.
    |A <A> <G> in which <R> and <R> reviewed <P> every <K> to <W> <O>. It ran for <S> months in {p0} and {p1}
    before spreading across {s}.
    |How <R> in {s} worked with <N> and <N> to <W> <O> among <P> with <C>, and why the <G> took longer than
    planned.
    |A before and after study of <N> for <P> in {p0}. The comparison group was not matched, so the <Z> fall in <O>
    may be regression to the mean.
    |Partners in {s} agreed a <A> <G> for <N>. This entry describes the <G>, its costs, the role of <R> and early
    results on <O> and <O>.""")
TITLES = {
    "case_study": _words("""How {s} used <N> to <W> <O>|{s}: <A> <N> for <P> in {p0}
        |Bringing <R> and <R> together around <P> in {s}|What {s} learned from <N> and <N>
        |Lessons from the {T0} <G> in {p0}|Making <N> work for <P> in {s}|Why <N> in {p0} took longer than planned
        |From pilot to <A> service: <N> in {s}"""),
    "intervention": _words("""<A> <N> for <P> in {s}|The {T0} model: <N> and <N> for <P>
        |A <A> <G> to <W> <O> among <P>|<N> led by <R> in {p0}|<A> <N> and <N> for <P> with <C>"""),
    "evidence": _words("""Evaluation of <N> in {s}: effect on <O>|Did <N> <W> <O>? Evidence from {s}
        |<O> after <N>: a before and after study in {p0}|Weighing the {s} figures on <O> and <N>
        |What the data say about <N> and <O> for <P>"""),
}
NOTES = {
    "enabler": _words("""<A> <N> let <R> see the same information|<R> already trusted each other from <N>
        |The {T0} <G> gave partners a shared view of <O>|<N> made it easier to <W> <O> for <P>
        |A named lead for <N> kept the <G> moving"""),
    "barrier": _words("""<R> could not open <N>, so work was duplicated|<N> took <S> months to agree
        |Changes in <N> slowed the <G> in {p0}|There was no <A> baseline for <O>
        |<R> were unsure what <N> allowed them to share"""),
}
HEADINGS = _words("""Background|What we did|The problem|How it works|Who was involved|What changed|Results
    |Lessons learned|What helped|What got in the way|Costs|Evaluation|Next steps|Information governance
    |Working with {s}|Data and measures|Limitations|How strong is this evidence|Method|What we do not know
    |The {T0} model|<N>|Findings for <P>|Why <N> mattered|Funding and contracts|Staff and workforce""")
BULLETS = _words("""<A> work on <N>|<W> <O> for <P>|a named <G> for each person|<A> reviews of <N>|<R> and <R>
    |<Q> <P> in {p0}|funding from <N>|training for <R> in <N>|<N> with {o}|<O> fell by <Z>|the {t4} <G>
    |access to <N> for <R>|<P> with <C>|a <A> <G> with <N>""")


def _tail_lexicon(size: int, suffixes: list[str], rng: random.Random) -> list[str]:
    """Pronounceable made-up words, in a fixed order (their Zipf rank)."""
    onsets = _words("b|br|c|ch|cl|d|dr|f|fl|g|gr|h|k|l|m|n|p|pl|r|s|sh|st|t|th|tr|v|w|wh|y")
    vowels = _words("a|e|i|o|u|ai|ea|ee|oo|ou|ay|ie")
    codas = ["", "", "n", "r", "l", "m", "s", "t", "nd", "rk", "st", "ck", "ng", "ll", "x", "th"]
    seen: dict[str, None] = {}
    while len(seen) < size:
        word = "".join(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas)
                       for _ in range(rng.choice((1, 2, 2))))
        if rng.random() < 0.5:
            word += rng.choice(suffixes)
        if 4 <= len(word) <= 11 and not re.search(r"(.)\1\1", word):
            seen.setdefault(word, None)
    return list(seen)


TAIL = _tail_lexicon(TAIL_SIZE, _words("ing|ness|ery|ism|ate|ive|ial|ology|ment|ity|ine|ol"), random.Random(1))
PLACES = REAL_PLACES + [w.capitalize() for w in _tail_lexicon(
    PLACE_SIZE, _words("ton|ley|by|ham|worth|ford|wick|field|bury|thorpe|stead|dale"), random.Random(2))]


def _zipf_weights(n: int, s: float = 1.0, q: float = 1.0) -> list[float]:
    """Cumulative Zipf-Mandelbrot weights 1 / (rank + q) ** s for ranks 0..n-1."""
    return list(itertools.accumulate(1.0 / (r + q) ** s for r in range(n)))


def load_sites() -> list[tuple[str, str]]:
    """(slug, name) of the 25 pioneer sites, from content/sites/*.md front matter."""
    paths = [p for p in sorted((CONTENT / "sites").glob("*.md")) if p.stem not in EXCLUDED_SITES]
    return [(p.stem, yaml.safe_load(p.read_text(encoding="utf-8").split("---")[1])["name"]) for p in paths]


def load_themes() -> list[tuple[str, str]]:
    """(slug, name) of every theme in content/themes.yml."""
    return [(t["slug"], t["name"]) for t in yaml.safe_load((CONTENT / "themes.yml").read_text(encoding="utf-8"))]


class _Pools:
    """Every template expanded many times for one seed; per-entry slots are left as {keys}."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.cum = {code: _zipf_weights(len(words), ZIPF_S.get(code, 1.0)) for code, words in VOCAB.items()}
        self.core: dict[str, list[str]] = {}
        self.sentences = self._sentences(10_000)
        self.topics = []  # each topic favours a dozen phrases and conditions, so entries are "about" something
        for _ in range(TOPICS):
            self.core = {code: rng.sample(VOCAB[code], size) for code, size in CORE_SIZES.items()}
            self.topics.append(self._sentences(TOPIC_SENTENCES))
        self.core = {}
        self.topic_cum = _zipf_weights(TOPICS, 0.8)
        self.sentence_words = sum(len(s.split()) for s in self.sentences) / len(self.sentences)
        self.headings, self.bullets = self._texts(HEADINGS, 2_000), self._texts(BULLETS, 5_000)
        self.summaries = self._texts(SUMMARIES, 5_000)
        self.titles = {kind: self._texts(templates, 3_000) for kind, templates in TITLES.items()}
        self.notes = {polarity: self._texts(templates, 3_000) for polarity, templates in NOTES.items()}

    def _sentences(self, count: int) -> list[str]:
        return [self._sentence(self._fill(self.rng.choice(TEMPLATES))) for _ in range(count)]

    def _texts(self, templates: list[str], count: int) -> list[str]:
        return [self._sentence(self._fill(self.rng.choice(templates)), plain=True) for _ in range(count)]

    def _pick(self, code: str) -> str:
        rng = self.rng
        if code in NUMBERS:
            return NUMBERS[code](rng)
        if code in self.core and rng.random() < CORE_SHARE:
            return rng.choice(self.core[code])
        return rng.choices(VOCAB[code], cum_weights=self.cum[code])[0]

    def _fill(self, template: str) -> str:
        """Fill the <X> slots and spread the {t0}/{p0} keys over their per-entry variants."""
        text = re.sub(r"<(\w)>", lambda m: self._pick(m.group(1)), template)
        text = re.sub(r"\b([Tt]he|[Aa]) the\b", r"\1", text)  # "the <N>" where <N> is "the CCG"
        return re.sub(r"\{([tT])\d\}", lambda m: f"{{{m.group(1)}{self.rng.randrange(6)}}}", text)

    def _sentence(self, text: str, plain: bool = False) -> str:
        """Capitalise and, unless ``plain``, sometimes add emphasis or a link."""
        text = text[0].upper() + text[1:]
        roll = 1.0 if plain else self.rng.random()
        if roll < 0.04:
            words = text.split(" ")
            i = max(range(len(words)), key=lambda j: (len(words[j]) > 5 and words[j].isalpha(), self.rng.random()))
            words[i] = ("**%s**" if roll < 0.025 else "*%s*") % words[i]
            text = " ".join(words)
        elif roll < 0.055:
            word = self.rng.choice(TAIL[:3000])
            text += f" See [the {word} report](https://example.org/reports/{word})."
        return text


@lru_cache(maxsize=4)
def _pools(seed: int) -> _Pools:
    return _Pools(random.Random(seed))


def _pick_fitting(rng: random.Random, pool: list[str], keys: dict, low: int, high: int) -> str:
    """A pool text, filled for this entry, of ``low`` to ``high`` words (cut to ``high`` if 40 tries fail)."""
    for _ in range(40):
        text = pool[rng.randrange(len(pool))].format_map(keys)
        if low <= len(text.split()) <= high:
            return text
    return " ".join(text.split()[:high])


def _table(rng: random.Random) -> str:
    rows = ["| Measure | Before | After |", "|---|---|---|"]
    for label in rng.sample(BCF_LABELS + FREE_OUTCOMES, rng.randint(2, 4)):
        before = rng.randint(40, 3000)
        rows.append(f"| {label} | {before:,} | {int(before * rng.uniform(0.6, 1.1)):,} |")
    return "\n".join(rows)


def _body(rng: random.Random, pools: _Pools, keys: dict, type_: str) -> str:
    target = int(rng.triangular(790, 1210, 1000))
    count = max(20, round((target - 90) / pools.sentence_words))
    first = second = rng.choices(pools.topics, cum_weights=pools.topic_cum)[0]
    while second is first:
        second = rng.choices(pools.topics, cum_weights=pools.topic_cum)[0]
    general = round(count * GENERAL_SHARE)
    half = (count - general) // 2
    sentences = (rng.choices(pools.sentences, k=general) + rng.choices(first, k=half)
                 + rng.choices(second, k=count - general - half))
    rng.shuffle(sentences)
    sections = rng.randint(4, 7)
    cut = sorted(rng.sample(range(3, len(sentences) - 2), sections - 1)) + [len(sentences)]
    table_at = rng.randrange(sections) if rng.random() < (0.6 if type_ == "evidence" else 0.15) else -1
    parts, start, headings = [], 0, rng.sample(pools.headings, sections)
    for i, end in enumerate(cut):
        if i or rng.random() < 0.7:
            parts.append("## " + headings[i])
        chunk = sentences[start:end]
        start = end
        while chunk:
            size = rng.randint(2, 6)
            parts.append(" ".join(chunk[:size]))
            chunk = chunk[size:]
        if rng.random() < 0.3:
            parts.append("\n".join("- " + b for b in rng.choices(pools.bullets, k=rng.randint(3, 6))))
        if i == table_at:
            parts.append(_table(rng))
    return "\n\n".join(parts).format_map(keys) + "\n"


def _slug(title: str, id_: int) -> str:
    words = re.sub(r"[^a-z0-9]+", " ", title.lower()).split()[:7]
    return "-".join(words + [str(id_)])


def _published(rng: random.Random) -> dt.date:
    year = rng.choices(list(YEAR_WEIGHTS), cum_weights=YEAR_CUM)[0]
    first = max(FIRST_DAY, dt.date(year, 1, 1)).toordinal()
    last = min(LAST_DAY, dt.date(year, 12, 31)).toordinal()
    return dt.date.fromordinal(rng.randint(first, last))


def _tags(rng: random.Random, pools: _Pools, keys: dict, themes: list, theme_cum: list) -> list[dict]:
    """1-4 distinct theme tags, each with a polarity and a one-line note."""
    chosen: dict[str, str] = {}
    for _ in range(rng.choices((1, 2, 3, 4), cum_weights=(30, 65, 90, 100))[0]):
        slug, name = rng.choices(themes, cum_weights=theme_cum)[0]
        chosen.setdefault(slug, name)
    tags = []
    for slug, name in chosen.items():
        polarity = "enabler" if rng.random() < 0.6 else "barrier"
        note = _pick_fitting(rng, pools.notes[polarity], keys, 6, 15)
        tags.append({"slug": slug, "name": name, "polarity": polarity, "note": note})
    return tags


def generate(n: int, seed: int = 2013) -> Iterator[dict]:
    """Yield ``n`` synthetic entries (ids 1..n), deterministic for ``seed``; see the module docstring."""
    pools, rng = _pools(seed), random.Random(f"{seed}-entries")
    sites, themes = load_sites(), load_themes()
    site_cum = _zipf_weights(len(sites), 0.6)
    theme_cum = list(itertools.accumulate(3.0 if slug in POPULAR_THEMES else 1.0 for slug, _ in themes))
    tail_cum, place_cum = _zipf_weights(len(TAIL), 1.0, 20.0), _zipf_weights(len(PLACES), 0.9)
    for id_ in range(1, n + 1):
        type_ = rng.choices(TYPES, cum_weights=(35, 75, 100))[0]
        site, site_name = rng.choices(sites, cum_weights=site_cum)[0]
        others = [s for s in sites if s[0] != site]
        roll = rng.random()
        other_sites = rng.sample(others, 2 if roll < 0.04 else 1 if roll < 0.18 else 0)
        places = rng.choices(PLACES, cum_weights=place_cum, k=2)
        keys = {"s": site_name, "o": (other_sites[0] if other_sites else rng.choice(others))[1],
                "p0": places[0], "p1": places[1]}
        for i, word in enumerate(rng.choices(TAIL, cum_weights=tail_cum, k=6)):
            keys[f"t{i}"], keys[f"T{i}"] = word, word.capitalize()
        title = _pick_fitting(rng, pools.titles[type_], keys, 6, 14)
        summary = _pick_fitting(rng, pools.summaries, keys, 25, 50)
        tags = _tags(rng, pools, keys, themes, theme_cum)
        evidence, roll = type_ == "evidence", rng.random()
        yield {
            "id": id_, "slug": _slug(title, id_), "title": title, "summary": summary,
            "body": _body(rng, pools, keys, type_), "type": type_,
            "site": site, "site_name": site_name, "other_sites": other_sites, "themes": tags,
            "published": _published(rng),
            "strength": rng.choices((1, 2, 3, 4, 5), cum_weights=(30, 60, 82, 94, 100))[0] if evidence else None,
            "outcomes": list(dict.fromkeys(rng.choices(OUTCOMES, cum_weights=OUTCOME_CUM, k=rng.randint(0, 3))))
            if evidence else [],
            "status": "published" if roll < 0.97 else "draft" if roll < 0.99 else "in_review",
            "visibility": "public" if rng.random() < 0.92 else "network",
        }
