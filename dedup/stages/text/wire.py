"""Wire furniture: datelines and agency credits.

Outlets move these around freely ("VLADIVOSTOK (AFP) -", "AFP Vladivostok" on a line of its
own, "MUMBAI, Nov 26 (PTI):", "(Reporting by ...; Editing by ...)"), so they are recorded as
columns (``agency``, ``dateline``) and kept out of the body the fingerprint sees.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.stages.text import latin_regex
from dedup.stages.text.lines import Lines, without_prefix
from dedup.stages.text.normalize import replace_rows

# Canonical agency name for each spelling that appears in credits.
AGENCIES = {
    "afp": "AFP", "agence france-presse": "AFP", "agence france presse": "AFP",
    "reuters": "Reuters", "reuter": "Reuters", "thomson reuters": "Reuters",
    "ap": "AP", "associated press": "AP", "the associated press": "AP",
    "pti": "PTI", "press trust of india": "PTI",
    "ians": "IANS", "ani": "ANI", "uni": "UNI",
    "xinhua": "Xinhua", "dpa": "dpa", "efe": "EFE", "kyodo": "Kyodo", "yonhap": "Yonhap",
    "tass": "TASS", "bloomberg": "Bloomberg", "upi": "UPI", "aap": "AAP", "ansa": "ANSA",
    # Agencies writing in other languages, and the names the big ones go by there (lowercase).
    "europa press": "Europa Press", "anadolu": "Anadolu", "mena": "MENA", "apa": "APA", "sda": "SDA",
    "belga": "Belga", "anp": "ANP", "pap": "PAP", "ctk": "CTK", "lusa": "Lusa", "jiji": "Jiji",
    "bernama": "Bernama", "antara": "Antara", "vna": "VNA", "wam": "WAM", "kuna": "KUNA", "qna": "QNA",
    "新华社": "Xinhua", "中新社": "CNS", "共同": "Kyodo", "共同通信": "Kyodo", "時事": "Jiji", "연합뉴스": "Yonhap",
    "رويترز": "Reuters", "أ ف ب": "AFP", "فرانس برس": "AFP", "د ب أ": "dpa", "الأناضول": "Anadolu",
    "أ ش أ": "MENA", "وام": "WAM", "تاس": "TASS",
    "тасс": "TASS", "риа новости": "RIA Novosti", "интерфакс": "Interfax", "рейтер": "Reuters",
    "भाषा": "PTI", "आईएएनएस": "IANS", "एएनआई": "ANI", "वार्ता": "UNI",
    "สำนักข่าวไทย": "TNA", "อสมท": "TNA",
}
_AGENCY_ALT = "|".join(sorted((k.replace(" ", r"\s+") for k in AGENCIES), key=len, reverse=True))

# A line that is only a credit: "AFP", "AFP Vladivostok", "By Reuters", "Reuters New York",
# "(AP)", "Source: PTI", "Reuter" (the 1987 sign-off).
_CREDIT_LINE = (
    rf"(?i)^\W*(?:by\s+|source\s*:\s*|with inputs from\s+)?\(?(?P<agency>{_AGENCY_ALT})\)?"
    r"(?:[\s,|/-]+(?P<place>[A-Za-z][A-Za-z .'-]{0,30}))?\W*$"
)
# End credits, "{agency}" a group or not: "The Associated Press contributed to this report.", "Associated Press
# writer Ann Roe in Chicago contributed ...", "This story was distributed by Associated Press.", "Distributed by Reuters."
_CONTRIBUTED = (r"(?:the\s+)?{agency}\s+(?:[\w.'’-]+\s+){{0,8}}?contributed\s+(?:to\s+)?(?:this|the)\s+"
                r"(?:report|story)")
_DISTRIBUTED = (r"(?:this\s+(?:story|article|report)\s+(?:was\s+|is\s+)?)?(?:distributed|provided|supplied)\s+by\s+"
                r"(?:the\s+)?{agency}")
# A byline that names an agency: "Written By: Reuters | Edited By: ...", "By AFP".
# Also "By Jane Doe, Associated Press", "By Jane Doe and John Roe | Reuters", and the end credits above
# (issue 17 item 7: credits outside the dateline).
_BYLINE = (
    rf"(?i)^\W*(?:(?:written\s+|reported\s+|story\s+)?by\s*:?\s*(?P<agency>{_AGENCY_ALT})\b"
    rf"|by\s+[^,|;()]{{2,80}}(?:\s*[,|;]\s*|\s+)(?:the\s+)?(?P<agency2>{_AGENCY_ALT})\W*$"
    + "|" + _CONTRIBUTED.format(agency=f"(?P<agency3>{_AGENCY_ALT})")
    + "|" + _DISTRIBUTED.format(agency=f"(?P<agency4>{_AGENCY_ALT})") + r"\W*$)"
)
# The bylines that are a line of their own and nothing else, removed with the credits: the end credits
# above, and "Written By: Press Trust of India | Edited By: Daily Quill Desk". Not "By AFP's count, ...".
_BYLINE_LINE = (
    r"(?i)^\W*(?:" + _CONTRIBUTED.format(agency=f"(?:{_AGENCY_ALT})")
    + "|" + _DISTRIBUTED.format(agency=f"(?:{_AGENCY_ALT})")
    + rf"|(?:written|reported)\s+by\s*:?\s*(?:the\s+)?(?:{_AGENCY_ALT})\s*(?:\|[^|]{{0,60}})?)\W*$"
)
# A copyright line naming an agency: "Copyright 2018 The Associated Press. All rights reserved.", "© Reuters".
_COPYRIGHT = (
    rf"(?i)^\W*(?:copyright|\(c\)|©)\s*(?:©\s*)?(?:\d{{4}}(?:\s*[-–]\s*\d{{4}})?\s*,?\s*)?(?:the\s+)?"
    rf"(?P<agency>{_AGENCY_ALT})\b"
)
# A credit after a paragraph's last sentence: "... into the US. PTI", "... on Monday. (PTI)".
_TAIL_CREDIT = rf"(?i)(?P<end>[.!?\"”’])(?:\s*\(\s*(?P<agency>{_AGENCY_ALT})\s*\)|\s+(?P<agency2>{_AGENCY_ALT}))\.?$"
# Trailing credit paragraph: "(Reporting by ...; Editing by ...)", "Compiled by ...".
_CREDIT_TRAILER = r"(?i)^\W*\(?\s*(reporting|additional reporting|writing|editing|compiled|edited)\s+by\b.{0,200}$"
# The 1987 wire sign-off glued after a paragraph's last sentence ("... will be renegotiated. REUTERS",
# "... Corp. REUTER...^M", cut short "REUTE"): a credit, cut off the paragraph, which keeps its text.
_SIGN_OFF = r"(?i)([.!?\"”’)])\s+(?:reuters?|reute)(?:\.{2,3}|…)?(?:\^m)?$"
# Dateline at the start of the first paragraph. Either a place in capitals, or a place with an
# agency in brackets or a date, then a dash or colon. "Russian President Putin said" does not match.
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_DATELINE = (
    r"^(?P<dateline>"
    # NEW YORK, Mar 3 (Reuters) -  |  Valencia, Spain (AFP) -  |  Hyderabad, Nov 26 (PTI)  |  PUNE:
    rf"(?P<place>[A-Z][A-Z.'-]+(?:[ /][A-Z][A-Z.'-]+){{0,3}}|[A-Z][a-z.'-]+(?:[ /][A-Z][a-z.'-]+){{0,3}})?"
    # ", Kenya", ", United Arab Emirates", ", N.Y."
    r"(?:,\s*[A-Z][A-Za-z.'-]+(?:\s[A-Z][A-Za-z.'-]+){0,2}){0,2}?"
    # ", March 3", " MArch 3" (the 1987 wire's typing; a missing comma too)
    rf"(?:,?\s*(?P<date>(?i:{_MONTH})\s+\d{{1,2}}))?"
    rf"(?:\s*\(\s*(?P<agency>(?i:{_AGENCY_ALT}))\s*\)\s*[-–—:]{{0,2}}"
    # an outlet's own credit, "(CNN) —", "(HawaiiNewsNow) -": no agency, and only before a dash
    r"|\s*\(\s*[A-Z][A-Za-z0-9.&' ]{0,30}\)\s*[-–—]{1,2}"
    r"|\s*[-–—:]{1,2}))\s+"
    # ...and then the story's first sentence, not a date or a label ("First Published: 26 Nov"); the
    # 1987 wire opens with a company in brackets ("<Autorama Inc>", "(Ivaco Inc)").
    r"(?P<next>[A-Z0-9\"“‘'<(])"
)


# Datelines in other languages and scripts, tried on the candidate lines the English pattern left
# (same groups): a place (a capitalized word or a word of a caseless script: Arabic, Devanagari,
# Thai, Han ...), an optional region and day-month date in any language ("3 dic", "3 декабря",
# "3 दिसंबर", "3 ธ.ค."), then a known agency in brackets or slashes and an optional dash:
# "MADRID, 3 dic (EFE).-", "القاهرة (رويترز) -", "МОСКВА, 3 декабря. /ТАСС/.", "नई दिल्ली, 3 दिसंबर (भाषा)".
# Without capitals to go by, the agency is what makes it a dateline.
_WORD = r"[\p{Lu}\p{Lo}][\p{L}\p{M}.'’-]*"
_DATELINE_INTL = (
    r"^(?P<dateline>"
    rf"(?P<place>{_WORD}(?:\s{_WORD}){{0,3}})"
    rf"(?:,\s*{_WORD}(?:\s{_WORD})?)?"
    r"(?:,?\s*(?P<date>\d{1,2}\.?\s+\p{L}[\p{L}\p{M}]*\.?(?:\p{L}+\.)?|\p{L}+\.?\s+\d{1,2}))?"
    rf"\.?\s*[(/（]\s*(?P<agency>(?i:{_AGENCY_ALT}))\s*[)/）]\s*\.?\s*[-–—:]{{0,2}})"
    r"\s*(?P<next>[^\s\-–—:.])"
)
# Chinese agency datelines: "新华社北京12月3日电", "中新社上海12月3日电（记者 王明）".
_DATELINE_ZH = (
    r"^(?P<dateline>(?P<agency>新华社|中新社)(?P<place>\p{Han}{2,8}?)(?P<date>\d{1,2}月\d{1,2}日)电"
    r"(?:[（(]记者[^）)]{1,30}[）)])?)\s*(?P<next>\S)"
)
# Japanese: "【北浜共同】", "【ワシントン時事】".
_DATELINE_JA = r"^(?P<dateline>【(?P<place>[^】]{1,12}?)(?P<agency>共同|時事)(?P<date>)】)\s*(?P<next>\S)"
_DATELINES = (_DATELINE, _DATELINE_INTL, _DATELINE_ZH, _DATELINE_JA)
_CREDITED_DATELINE = rf"(?i)^[^()]{{2,60}}\((?:{_AGENCY_ALT})\)\s*[-–—]"
_GROUPS = ("dateline", "place", "date", "agency", "next")


# The dateline is looked for on the first lines and the first prose lines of each story (page
# headers come first on a scraped page).
DATELINE_SEARCH_LINES = 8
# ...and, further down a long page header (a subscription box, share bars), a dateline crediting an
# agency in brackets ("HOUSTON, March 17 (Reuters) - Qtr ended Jan 31") on the first this many lines.
DATELINE_SEARCH_CREDITED_LINES = 16
DATELINE_SEARCH_PROSE = 3
# Words that open a line with "Word:" but are labels, not places.
NOT_PLACES = np.array([
    "disclaimer", "note", "update", "updated", "editor", "editors", "watch", "also", "read", "photo", "source",
    "sources", "warning", "correction", "advertisement", "sponsored", "exclusive", "breaking", "live", "opinion",
    "analysis", "video", "listen", "related", "published", "copyright", "tags", "topics", "share", "comment",
    "first published", "last updated", "last modified", "posted", "date", "time", "edited", "written",
    "read more", "also read", "more", "trending", "latest", "top stories", "newsletter", "subscribe",
    "written by", "edited by", "reported by", "by", "photo by", "credit", "image credit",
    # page furniture seen in front of a dash or colon on real pages (issue 17 item 7)
    "file", "the latest", "purchase", "tweets", "photos", "gallery", "graphic", "audio", "podcast", "poll",
    "explainer", "factbox", "fact box", "instant view", "recommended", "promoted", "sponsored content",
    "see more", "see also", "summary", "disclosure",
    # section names that head a story on a page ("Business: ...")
    "business", "markets", "world", "politics", "sports", "sport", "technology", "tech", "entertainment",
    "health", "science", "nation", "national", "international", "local", "lifestyle", "economy", "finance",
    "news", "world news", "business news", "top news", "latest news", "breaking news", "us news", "uk news",
    # labels of page stamps and table notes ("Added: Thu, Mar 19, 1987", "Notes - Net excluded ...")
    "added", "notes", "due",
], dtype=object)
_NOT_PLACES = pa.array(NOT_PLACES.tolist(), pa.string())
# A person's title opening the "place": "Sen. Ben Sasse: Trump should ..." is a headline, not a dateline;
# "DEAR ABBY:" opens a letter.
_TITLED = r"(?i)^(?:(?:sen|rep|gov|gen|dr|mr|mrs|ms|prof|rev|sgt|col|lt|capt|adm|supt|pres|sec|amb|maj)\.\s|dear\s)"


def _first_per_story(idx: np.ndarray, story: np.ndarray, k: int) -> np.ndarray:
    """The first k of the given line indices within each story."""
    st = story[idx]
    if not len(st):
        return idx
    starts = np.r_[0, np.flatnonzero(st[1:] != st[:-1]) + 1]
    nth = np.arange(len(st)) - np.repeat(starts, np.diff(np.r_[starts, len(st)]))
    return idx[nth < k]


def _prose_before(lines: Lines, rows: np.ndarray, min_words: int = 20) -> np.ndarray:
    """Per line index in ``rows``: how many paragraphs of prose (``Lines.is_prose``, ``min_words`` words or
    more) of its story come before it. Shorter sentences are not counted: a paywall or consent banner
    above the story ("Renews automatically unless cancelled.") is still there when the dateline is
    looked for."""
    prose = (lines.is_prose() & (lines.words() >= min_words)).astype(np.int64)
    before = np.cumsum(prose) - prose  # prose lines before each line, over all stories
    start = np.searchsorted(lines.story, lines.story[rows], side="left")  # lines are grouped by story
    return before[rows] - before[start]


def _agency_name(raw: pa.Array) -> pa.Array:
    lowered = pc.replace_substring_regex(pc.utf8_lower(raw), r"\s+", " ")
    keys = pa.array(list(AGENCIES.keys()))
    vals = pa.array(list(AGENCIES.values()))
    idx = pc.index_in(lowered, value_set=keys)
    return pc.take(vals, idx)


def strip_furniture(lines: Lines) -> tuple[Lines, np.ndarray, np.ndarray, np.ndarray]:
    """Remove credit lines, agency bylines that are a line of their own ("The Associated Press
    contributed to this report.", "This story was distributed by Reuters.", "Written By: PTI |
    Edited By: ...": ``_BYLINE_LINE``), a sign-off or credit glued after a paragraph's last
    sentence ("... said. REUTER", "... the US. PTI") and the leading dateline. The agency comes from, in this order, a
    credit line, a byline, the sign-off, the dateline, then a tail credit or a copyright line
    ("Copyright 2018 The Associated Press.", which stays in the text).

    Returns the remaining lines, the agency per story (None when none was credited), the
    dateline per story (object arrays), the mask of removed lines (over the input lines) and the
    mask of the remaining lines a dateline naming an agency or a date was cut from (bool, over
    the remaining lines: where a
    report's text begins, ``chrome.chrome_rules``' ``dated``).
    """
    n = lines.n_stories
    agency = np.full(n, None, dtype=object)
    words = lines.words()
    # Credits are a few words at most: only those lines go through the regex.
    short_idx = np.flatnonzero(words <= 6)
    # Each line pattern runs once per distinct line (``Lines.per_distinct``): copies repeat their lines.
    credit = lines.per_distinct(lambda t: pc.extract_regex(t, _CREDIT_LINE), short_idx)
    hit = pc.is_valid(credit).to_numpy(zero_copy_only=False)
    is_credit = np.zeros(len(words), dtype=bool)
    is_credit[short_idx[hit]] = True
    by_idx = np.flatnonzero((words <= 12) & ~is_credit)
    byline = lines.per_distinct(lambda t: pc.extract_regex(t, _BYLINE), by_idx)
    by_hit = pc.is_valid(byline).to_numpy(zero_copy_only=False)
    got = byline.filter(pa.array(by_hit))
    named = pc.coalesce(*(pc.if_else(pc.equal(pc.struct_field(got, f), ""), pa.scalar(None, pa.string()),
                                     pc.struct_field(got, f)) for f in ("agency", "agency2", "agency3", "agency4")))
    for s_, a in zip(lines.story[by_idx[by_hit]][::-1], _agency_name(named).to_numpy(zero_copy_only=False)[::-1]):
        agency[s_] = a
    is_trailer = lines.per_distinct(lambda t: pc.match_substring_regex(t, _CREDIT_TRAILER).to_numpy(
        zero_copy_only=False))
    if is_credit.any():
        names = _agency_name(pc.struct_field(credit.filter(pa.array(hit)), "agency")).to_numpy(zero_copy_only=False)
        # The first credit of a story names its agency.
        for s, a in zip(lines.story[is_credit][::-1], names[::-1]):
            agency[s] = a
    is_byline = np.zeros(len(words), dtype=bool)
    if by_hit.any():
        own = by_idx[by_hit]
        is_byline[own[lines.per_distinct(lambda t: pc.match_substring_regex(t, _BYLINE_LINE).to_numpy(
            zero_copy_only=False), own)]] = True
    removed = is_credit | is_trailer | is_byline
    kept = lines.filter(~removed)
    signed = np.flatnonzero(kept.per_distinct(lambda t: pc.match_substring_regex(t, _SIGN_OFF).to_numpy(
        zero_copy_only=False)))
    if signed.size:
        cut = pc.replace_substring_regex(pc.take(kept.text, pa.array(signed)), _SIGN_OFF, r"\1")
        kept = kept.with_text(replace_rows(kept.text, signed, cut), signed)
        for s_ in kept.story[signed][::-1]:
            if agency[s_] is None:
                agency[s_] = "Reuters"
    # Credits at a paragraph's end and in a copyright line name the agency when nothing above did
    # (after the dateline, whose credit comes first); only lines that can hold one are searched.
    late = np.full(n, None, dtype=object)
    # Cheap tests on a line's last two characters first: the full patterns run on few lines.
    tail = np.flatnonzero(kept.per_distinct(lambda t: pc.match_substring_regex(
        pc.utf8_slice_codeunits(t, -2), r"[)A-Z]$|[A-Z]\.$").to_numpy(zero_copy_only=False)))
    if tail.size:
        tail = tail[kept.per_distinct(lambda t: pc.match_substring_regex(t, _TAIL_CREDIT).to_numpy(
            zero_copy_only=False), tail)]
    if tail.size:
        heads = pc.take(kept.text, pa.array(tail))
        got = pc.extract_regex(heads, _TAIL_CREDIT)
        named = pc.coalesce(*(pc.if_else(pc.equal(pc.struct_field(got, f), ""), pa.scalar(None, pa.string()),
                                         pc.struct_field(got, f)) for f in ("agency", "agency2")))
        kept = kept.with_text(replace_rows(kept.text, tail, pc.replace_substring_regex(heads, _TAIL_CREDIT, r"\1")),
                              tail)
        for s_, a in zip(kept.story[tail][::-1], _agency_name(named).to_numpy(zero_copy_only=False)[::-1]):
            late[s_] = a
    cp_idx = np.flatnonzero(kept.words() <= 40)
    if cp_idx.size:
        cp_idx = cp_idx[kept.per_distinct(lambda t: pc.match_substring_regex(
            t, r"^\W*(?:[Cc]opyright|COPYRIGHT|\([cC]\)|©)").to_numpy(zero_copy_only=False), cp_idx)]
    if cp_idx.size:
        cp_text = pc.take(kept.text, pa.array(cp_idx))
        hit = pc.match_substring_regex(cp_text, _COPYRIGHT).to_numpy(zero_copy_only=False)
        if hit.any():
            got = pc.struct_field(pc.extract_regex(cp_text.filter(pa.array(hit)), _COPYRIGHT), "agency")
            for s_, a in zip(kept.story[cp_idx[hit]][::-1], _agency_name(got).to_numpy(zero_copy_only=False)[::-1]):
                late[s_] = a

    # Dateline: on one of the first lines or first prose lines of each story (chrome above it,
    # such as a "You have 2 free articles left." banner, is only removed later; what is still
    # missing then is looked for again after chrome removal, ``strip_late_dateline``).
    cand = np.zeros(len(kept.story), bool)  # the union of both, sorted: marked, not sorted
    cand[_first_per_story(np.arange(len(kept.story)), kept.story, DATELINE_SEARCH_LINES)] = True
    cand[_first_per_story(np.flatnonzero(kept.is_prose()), kept.story, DATELINE_SEARCH_PROSE)] = True
    deep = _first_per_story(np.arange(len(kept.story)), kept.story, DATELINE_SEARCH_CREDITED_LINES)
    deep = deep[~cand[deep]]
    if deep.size:
        cand[deep[kept.per_distinct(lambda t: pc.match_substring_regex(t, _CREDITED_DATELINE).to_numpy(
            zero_copy_only=False), deep)]] = True
    cand_idx = np.flatnonzero(cand)
    dateline = np.full(n, None, dtype=object)
    kept, dated = _strip_dateline(kept, cand_idx, agency, dateline)
    dateline[np.equal(dateline, "")] = None  # an empty dateline is none (issue 17 item 7)
    fill = np.equal(agency, None)
    agency[fill] = late[fill]
    return kept, agency, dateline, removed, dated


def credit_datelines(lines: Lines) -> np.ndarray:
    """Per story (object array), the first credit line that names a place ("AFP Vladivostok",
    "Reuters | New York"), as written; None where there is none. The caller uses it as the dateline
    of a story that has no other, once both dateline searches (``strip_furniture``,
    ``strip_late_dateline``) are done: the place in a credit is the dateline's, not a line's head."""
    out = np.full(lines.n_stories, None, dtype=object)
    short_idx = np.flatnonzero(lines.words() <= 6)
    if not short_idx.size:
        return out
    credit = lines.per_distinct(lambda t: pc.extract_regex(t, _CREDIT_LINE), short_idx)
    hit = pc.is_valid(credit).to_numpy(zero_copy_only=False)
    if not hit.any():
        return out
    places = pc.utf8_lower(pc.utf8_trim_whitespace(pc.struct_field(credit.filter(pa.array(hit)), "place"))).fill_null("")
    named = np.flatnonzero(pc.and_(pc.greater(pc.binary_length(places), 0),
                                   pc.invert(pc.is_in(places, value_set=_NOT_PLACES))).to_numpy(zero_copy_only=False))
    if not named.size:
        return out
    rows = short_idx[hit][named]  # in line order, so grouped by story: the first of each story wins
    story = lines.story[rows]
    first = np.r_[True, story[1:] != story[:-1]]
    out[story[first]] = pc.utf8_trim(pc.take(lines.text, pa.array(rows[first])), " -–—:|,.()").to_numpy(
        zero_copy_only=False)
    return out


def strip_late_dateline(lines: Lines, agency: np.ndarray, dateline: np.ndarray) -> Lines:
    """A second look, after chrome removal, for stories whose dateline was buried under page
    headers: on their first lines now. Fills ``agency``/``dateline`` in place."""
    missing = np.equal(dateline, None)
    idx = _first_per_story(np.flatnonzero(missing[lines.story]), lines.story, DATELINE_SEARCH_PROSE)
    return _strip_dateline(lines, idx, agency, dateline)[0] if len(idx) else lines


def _empty_match() -> pa.StructArray:
    return pa.StructArray.from_arrays([pa.array([], pa.string()) for _ in _GROUPS], names=list(_GROUPS))


def _match_datelines(cand: pa.Array) -> tuple[np.ndarray, list[pa.StructArray]]:
    """Rows of ``cand`` with a dateline, and their groups (``_GROUPS``, empty groups null), per pattern
    of ``_DATELINES`` in turn; a row is tried with a pattern only when the earlier ones missed it.
    Each row's answer depends on its string alone (the caller passes one row per distinct line)."""
    left = np.arange(len(cand))
    rows, parts = [], []
    for pattern in _DATELINES:
        if not len(left):
            break
        sub = pc.take(cand, pa.array(left))
        hit = np.flatnonzero(latin_regex.match(sub, pattern))
        if not len(hit):
            continue
        got = latin_regex.extract(pc.take(sub, pa.array(hit)), pattern)
        fields = []
        for g in _GROUPS:
            f = pc.struct_field(got, g)
            fields.append(pc.if_else(pc.equal(f, ""), pa.scalar(None, pa.string()), f))
        parts.append(pa.StructArray.from_arrays(fields, names=list(_GROUPS)))
        rows.append(left[hit])
        left = np.delete(left, hit)
    return (np.concatenate(rows) if rows else np.empty(0, np.int64)), parts


def _strip_dateline(kept: Lines, cand_idx: np.ndarray, agency: np.ndarray,
                    dateline: np.ndarray) -> tuple[Lines, np.ndarray]:
    """Find the best dateline among the candidate lines of each story and cut it off its line.
    Returns the lines and the mask (bool, over the returned lines) of those a dateline naming an
    agency or a date was cut from."""
    text = kept.text
    hit_idx = np.empty(0, np.int64)
    if len(cand_idx):
        # A plain match is several times cheaper than extracting the groups, and few candidate
        # lines match: groups are extracted from those only. at[i]: row of candidate i in m.
        # The English pattern first; the others only on the lines it left. Each distinct candidate
        # line is matched once (``Lines.distinct_rows``): copies of a story repeat their first lines.
        first, inverse = kept.distinct_rows(cand_idx)
        matched, parts = _match_datelines(pc.take(text, pa.array(first)))
        m = pa.concat_arrays(parts) if parts else _empty_match()
        at_first = np.full(len(first), -1, np.int64)
        at_first[matched] = np.arange(len(matched))
        at = at_first[inverse]
        vi = np.flatnonzero(at >= 0)
        if len(vi):
            got = m.take(pa.array(at[vi]))
            places = pc.utf8_lower(pc.utf8_trim_whitespace(pc.struct_field(got, "place"))).fill_null("")
            # A bare dash or colon is no dateline ("- 8 pct bonds due July 1, 1990," is a list item).
            named = np.zeros(len(vi), bool)
            for f in ("place", "date", "agency"):
                named |= pc.greater(pc.binary_length(pc.struct_field(got, f).fill_null("")), 0).to_numpy(
                    zero_copy_only=False)
            titled = pc.match_substring_regex(places, _TITLED).to_numpy(zero_copy_only=False)
            # Several title-case words before a colon, with neither credit, date nor region, open
            # headlines and labels on real pages as often as datelines ("New York: ..." against "Julian
            # Assange: Sweden drops inquiry", "New Price Drop: ...", bench/datelines.py): such a "place"
            # is a dateline only ahead of the story's first paragraph and not on a headline-shaped line
            # (under 8 words after the colon, no figure). One word ("Calgary:"), capitals ("NEW
            # DELHI:") and a region ("Washington, DC, United States:") are places as before.
            dl = pc.utf8_rtrim_whitespace(pc.struct_field(got, "dateline"))
            place = pc.struct_field(got, "place").fill_null("")
            bare = pc.and_(pc.is_null(pc.struct_field(got, "agency")), pc.is_null(pc.struct_field(got, "date")))
            shaped = pc.and_(pc.and_(bare, pc.ends_with(dl, ":")), pc.and_(
                pc.and_(pc.invert(pc.match_substring(dl, ",")), pc.match_substring(place, " ")),
                pc.not_equal(place, pc.utf8_upper(place))))
            label = shaped.fill_null(False).to_numpy(zero_copy_only=False)
            if label.any():
                rows = cand_idx[vi[label]]
                line = pc.take(text, pa.array(rows))
                after = kept.words()[rows] - 1 - pc.count_substring(place.filter(pa.array(label)), " ").to_numpy(
                    zero_copy_only=False)
                headline = (after < 8) & ~pc.match_substring_regex(line, r"\d").to_numpy(zero_copy_only=False)
                label[label] = headline | (_prose_before(kept, rows) > 0)
            # An outlet's own credit in brackets ("(CNN) -") follows a place in capitals only: "Gould Inc
            # (GLD) - ..." is a company and its ticker.
            credit = pc.and_(pc.is_null(pc.struct_field(got, "agency")), pc.match_substring(dl, "("))
            label |= pc.and_(credit, pc.not_equal(place, pc.utf8_upper(place))).fill_null(False).to_numpy(
                zero_copy_only=False)
            # A date alone, with neither place nor agency, after a sentence of the story ("June 9 –
            # Kestrel Bay, Town Hall" in a tour schedule) is the story's text, not its dateline. (A place
            # after a standfirst, "SIOUX FALLS, S.D. –", is still one.)
            late_line = (_prose_before(kept, cand_idx[vi], 8) > 0) & (places.to_numpy(zero_copy_only=False) == "") & \
                pc.is_null(pc.struct_field(got, "agency")).to_numpy(zero_copy_only=False)
            # A bare place and a colon with a few words after it, below a paragraph of the story, labels
            # a row ("Parana: 40 pct" in a table of states, "Due: 27 35"); a dateline opens the text.
            rest = kept.words()[cand_idx[vi]] - 1 - pc.count_substring(place, " ").to_numpy(zero_copy_only=False)
            late_label = ((_prose_before(kept, cand_idx[vi], 8) > 0) & bare.fill_null(False).to_numpy(zero_copy_only=False)
                          & pc.ends_with(dl, ":").fill_null(False).to_numpy(zero_copy_only=False) & (rest < 4))
            vi = vi[named & ~titled & ~label & ~late_line & ~late_label
                    & ~pc.is_in(places, value_set=_NOT_PLACES).to_numpy(zero_copy_only=False)]
        # Per story, the best candidate: one naming an agency, then one with a date, then the first.
        sub = m.take(pa.array(at[vi]))
        score = (pc.is_valid(pc.struct_field(sub, "agency")).to_numpy(zero_copy_only=False).astype(int) * 2
                 + pc.is_valid(pc.struct_field(sub, "date")).to_numpy(zero_copy_only=False).astype(int))
        order = np.lexsort((vi, -score, kept.story[cand_idx[vi]]))
        st_sorted = kept.story[cand_idx[vi[order]]]
        first = np.ones(len(order), bool)
        first[1:] = st_sorted[1:] != st_sorted[:-1]
        pick = np.sort(vi[order][first])
        if len(pick):
            hit_idx = cand_idx[pick]
            hit = m.take(pa.array(at[pick]))
            dl = pc.struct_field(hit, "dateline")
            # Cut each head line after its own dateline, which is the line's first bytes (the patterns
            # are anchored at its start), and the whitespace after it.
            new_heads = pc.utf8_ltrim_whitespace(without_prefix(
                pc.take(text, pa.array(hit_idx)), pc.binary_length(dl).fill_null(0).to_numpy(zero_copy_only=False)))
            ag = _agency_name(pc.struct_field(hit, "agency")).to_numpy(zero_copy_only=False)
            # "(Reuters) - ..." credits the agency and names no place: no dateline.
            placed = pc.or_(pc.is_valid(pc.struct_field(hit, "place")),
                            pc.is_valid(pc.struct_field(hit, "date"))).to_numpy(zero_copy_only=False)
            strong = pc.or_(pc.is_valid(pc.struct_field(hit, "agency")),
                            pc.is_valid(pc.struct_field(hit, "date"))).to_numpy(zero_copy_only=False)
            # One pick per story, so each story is assigned once.
            st = kept.story[hit_idx]
            dateline[st] = np.where(placed, pc.utf8_trim(dl, " -–—:").to_numpy(zero_copy_only=False), None)
            credit = np.not_equal(ag, None) & np.equal(agency[st], None)
            agency[st[credit]] = ag[credit]
            text = replace_rows(text, hit_idx, new_heads)
    # Only the cut lines changed: the other lines keep their measurements.
    kept = kept.with_text(text, hit_idx)
    dated = np.zeros(len(kept.text), bool)
    if hit_idx.size:
        # A bare place before a colon also heads page lines ("Added: Fri, Feb 27, 1987"): only a
        # dateline that names its agency or a date says the report's text starts on its line.
        dated[hit_idx[strong]] = True
    nonempty = pc.greater(pc.binary_length(kept.text), 0).to_numpy(zero_copy_only=False)
    if not nonempty.all():
        kept, dated = kept.filter(nonempty), dated[nonempty]
    return kept, dated
