"""The benchmark's fixed query set, in the knowledge base's search syntax.

Contract
--------
``QUERIES`` is a literal, ordered list of 243 query strings; it never changes between runs, so
timings and result counts can be compared across backends and commits. The mix is about 35 % plain
words (1-4 words, common to rare, including the acronyms IG, DToC, A&E, BCF and MDT), 15 % "quoted
phrases", 15 % boolean (upper-case AND / OR / NOT with parentheses), 10 % prefix* (at least three
letters before the *) and 25 % with field filters (``site:`` ``theme:`` ``polarity:`` ``type:``
``strength:N`` / ``strength:>=N`` ``year:``), some of them filter-only.

The rare words come from ``bench.corpus``: scheme names from its made-up long tail at ranks 0 to
55,000 (rendology, kingment, brooring, fliecleeck ...), generated places (Cleetcayst, Drieby,
Weethceck) and a few words that never occur (misspellings such as "reablment"), so some queries find
nothing. ``CATEGORIES`` maps each category name to its slice of ``QUERIES``.
"""

PLAIN = [
    # common, one word
    "care", "frailty", "carers", "falls", "reablement", "housing", "discharge", "dementia",
    "telehealth", "evaluation", "budget", "workforce", "leadership", "volunteers", "governance",
    "safeguarding", "loneliness", "homelessness", "nutrition", "hydration",
    # acronyms
    "IG", "DToC", "A&E", "BCF", "MDT", "CCG", "IAPT", "COPD", "NHS 111", "QIPP",
    # two to four words
    "care homes", "hospital discharge", "social isolation", "pooled budget", "shared care record",
    "care navigators", "risk stratification", "personal health budgets", "information governance",
    "delayed transfers", "emergency admissions", "district nurses", "community matrons",
    "voluntary sector", "GP practices", "mental health", "end of life care", "extra care housing",
    "falls prevention older people", "carers assessments respite", "A&E attendances frail",
    "DToC social care", "IG consent model", "BCF pooled budget", "MDT care home residents",
    "data sharing agreement NHS number", "telecare pendant alarms", "medication reviews polypharmacy",
    "heart failure", "atrial fibrillation warfarin", "donepezil", "levothyroxine", "pulmonary rehabilitation",
    "podiatry wound care", "continence", "Caldicott guardian", "EMIS SystmOne", "Healthwatch",
    # places and site names
    "Leeds", "Greenwich", "Greater Manchester", "South Devon and Torbay", "Keighley", "Otley care homes",
    "King's Lynn", "Cleetcayst", "Drieby",
    # long tail, from common to very rare, and words that never occur
    "rendology", "traithnir", "kingment", "thiesshayck", "brooring", "trillti", "fliecleeck",
    "reablment", "telehelth", "interoperabilty",
]

PHRASES = [
    '"care navigator"', '"multidisciplinary team"', '"delayed transfers of care"', '"non-elective admissions"',
    '"information governance"', '"data sharing agreement"', '"pooled budget"', '"Better Care Fund"',
    '"shared care record"', '"risk stratification"', '"personal health budgets"', '"social isolation"',
    '"hospital at home"', '"discharge to assess"', '"single point of access"', '"section 75 agreement"',
    '"health and wellbeing board"', '"electronic frailty index"', '"people with dementia"',
    '"frail older people"', '"end of life care"', '"regression to the mean"', '"matched group"',
    '"A&E attendances"', '"the MDT"', '"self-reported"', '"NHS number"', '"care home support team"',
    '"trusted assessors"', '"the national team offered help"', '"takes longer than expected"',
    '"a named lead"', '"GP records for the first time"', '"rendology scheme"',
    '"care navigators" falls', '"pooled budget" "section 75 agreement"',
]

BOOLEAN = [
    "falls OR frailty", "telehealth OR telecare", "IG OR \"information governance\"", "DToC OR \"delayed transfers\"",
    "A&E OR \"emergency department\"", "BCF AND \"pooled budget\"", "MDT AND \"care homes\"",
    "dementia AND carers", "housing AND homelessness", "reablement AND discharge AND \"home care\"",
    "frailty NOT \"care homes\"", "falls NOT hospital", "carers NOT \"young carers\"", "NOT dementia",
    "NOT telehealth carers", "telehealth NOT (telecare OR \"remote monitoring\")",
    "(falls OR frailty) AND \"care homes\"", "(IG OR \"data sharing\") AND consent",
    "(COPD OR \"heart failure\") AND \"virtual ward\"", "(\"social prescribing\" OR \"link workers\") AND loneliness",
    "(Leeds OR Sheffield) AND \"neighbourhood teams\"", "(pharmacists AND polypharmacy) OR \"medication reviews\"",
    "((falls OR fractures) AND osteoporosis) NOT hospital", "(BCF OR \"Better Care Fund\") NOT savings",
    "\"risk stratification\" AND (GP OR \"general practice\") NOT \"risk tool\"", "evaluation AND \"matched group\"",
    "(delirium OR sepsis) AND discharge", "volunteers OR befriending OR \"peer support\"",
    "(\"care navigators\" OR \"key workers\") AND \"single point of access\"", "workforce AND (recruitment OR retention)",
    "(rendology OR kingment) AND care", "brooring OR trillti OR fliecleeck",
    "\"shared care record\" AND NOT EMIS", "(housing AND \"disabled facilities grants\") OR \"extra care housing\"",
    "A&E AND (DToC OR \"length of stay\")", "MDT AND NOT (\"care homes\" OR \"nursing homes\")",
]

PREFIX = [
    "frail*", "integr*", "navig*", "commiss*", "reabl*", "tele*", "dement*", "readmi*", "safeguard*",
    "stratif*", "interop*", "pharm*", "volunt*", "physio*", "therap*", "evalu*", "hosp*", "carer*",
    "integrat*", "communit*", "rend*", "king*", "telehealth monit*", "\"care home\" resid*",
]

FILTERED = [
    # filter-only
    "type:evidence", "type:evidence strength:>=3", "type:evidence strength:5", "type:case_study year:2015",
    "site:leeds", "site:greater-manchester type:intervention", "theme:information-governance",
    "theme:pooled-budgets polarity:barrier", "polarity:barrier year:2016", "strength:>=4",
    "site:south-devon-torbay theme:workforce", "year:2024", "site:cornwall-isles-of-scilly year:2014",
    "theme:housing polarity:enabler type:case_study", "site:islington strength:>=2",
    # words with filters
    "falls type:evidence", "frailty site:leeds", "carers theme:voluntary-community-sector",
    "\"care navigator\" site:greenwich", "DToC type:evidence strength:>=3", "IG theme:information-governance",
    "IG polarity:barrier", "A&E year:2015", "BCF theme:better-care-fund polarity:enabler",
    "MDT type:intervention", "\"pooled budget\" theme:pooled-budgets", "telehealth site:airedale-wharfedale-craven",
    "dementia type:case_study year:2017", "\"shared care record\" theme:shared-care-record polarity:barrier",
    "\"risk stratification\" site:camden", "reablement strength:>=2", "housing site:south-somerset",
    "discharge site:vale-of-york type:evidence", "workforce theme:workforce polarity:barrier year:2018",
    "evaluation strength:1", "\"matched group\" type:evidence strength:>=4", "leadership theme:leadership",
    "volunteers site:west-norfolk", "COPD site:nottinghamshire", "\"care homes\" site:kent year:2016",
    "falls OR frailty type:evidence", "(IG OR \"data sharing\") polarity:barrier",
    "\"hospital at home\" NOT \"virtual ward\" type:intervention", "frail* site:sheffield", "navig* theme:care-coordination-navigators",
    "integr* year:2019", "\"delayed transfers of care\" site:staffordshire strength:>=2",
    "loneliness theme:prevention-public-health", "procurement theme:prime-contractor", "capitated theme:capitated-contract",
    "alliance theme:alliance-contract site:south-tyneside", "rendology type:evidence", "kingment site:barnsley",
    "Keighley site:airedale-wharfedale-craven", "carers year:2025", "\"care plans\" site:wakefield polarity:enabler",
    "evaluation site:fylde-coast strength:>=3", "social care site:waltham-forest-east-london-city",
    "polypharmacy site:north-west-london", "homelessness site:southend type:case_study",
]

QUERIES: list[str] = PLAIN + PHRASES + BOOLEAN + PREFIX + FILTERED

CATEGORIES: dict[str, list[str]] = {
    "plain": PLAIN, "phrase": PHRASES, "boolean": BOOLEAN, "prefix": PREFIX, "filtered": FILTERED,
}
