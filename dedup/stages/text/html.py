"""Article text out of story bodies that are whole HTML pages.

Some wire feeds hand us the scraped page instead of the story text. Before
shingling, such a body is turned into its article text so that the outlet's
navigation, footer, related-links and subscription blocks do not make two
unrelated stories from one site look alike (or hide a copy of the same story on
two sites).

- ``looks_like_html(text)`` is a cheap sniff run on every story: it only looks
  at the first 4 KiB, answers ``False`` at once when there is no ``<`` or no
  ``>`` there, and otherwise wants a page start (doctype, ``<html>``,
  ``<head>``...) or at least three well-known HTML tags, so plain text such as
  ``a < b`` or an e-mail address in angle brackets stays plain text. (The
  sniff matches tag names with a regex; it never extracts anything.)
- ``html_to_text(html)`` returns the main article text, one paragraph per line
  (``"\\n"``-separated). The extractor is trafilatura (``favor_precision=True``,
  plain-text output, no comments), first in its fast mode (no comparison with
  readability and jusText); that text is kept unless it is a stub or lies mostly
  outside the page's largest block of sentences, when the full mode runs. If
  the full mode keeps fewer than 50 words it is
  re-run with its default settings and the longer result is kept, since the
  precision mode very occasionally prunes a real article to a stub (stubs and
  extractions that stop inside the page's largest block of sentences then try
  trafilatura's recall mode and jusText: ``html_to_text_sourced``). When
  trafilatura finds nothing at all, the page's full visible text (selectolax
  parser, scripts/styles dropped) is returned instead. It never raises: the
  worst case is ``""``.

Why trafilatura with favor_precision: on the 181 real pages of the
article-extraction-benchmark (shared corpus) it had the best quality of
trafilatura 2.3.1 (default / favor_recall / favor_precision / fast),
resiliparse 2.0.1, jusText 3.0.2 and a selectolax heuristic; precision matters
most here because leftover page furniture is shared between pages of one site
and inflates their similarity. Measured for ``html_to_text`` as shipped (bag of
lowercase word tokens against the human ``articleBody``, mean over pages):
precision 0.970, recall 0.987, F1 0.977 (trafilatura default: 0.947 / 0.983 /
0.959), 45-60 pages/s on one core of the 2-core dev machine (0.974 and 27-44
pages/s without the fast first pass, same run). Reproduce with

    .venv/bin/python bench/html_extraction.py

The full comparison is in docs/html-extraction.md.
"""

from __future__ import annotations

import logging
import re
from collections import Counter

import numpy as np
import pyarrow.compute as pc
from selectolax.lexbor import LexborHTMLParser, LexborNode

__all__ = ["looks_like_html", "maybe_html", "is_fragment", "html_to_text", "html_to_text_sourced", "prose_words",
           "visible_text", "block_text", "SOURCES"]

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- sniffing


# Names of common elements (matched on lowercased text: re.IGNORECASE measured about 3x slower).
_TAG_NAMES = (r"(?:p|div|span|a|br|hr|b|i|u|em|strong|small|sup|sub|ul|ol|li|dl|dt|dd"
              r"|h[1-6]|table|thead|tbody|tr|td|th|img|picture|source|figure|figcaption"
              r"|section|article|header|footer|nav|main|aside|script|style|noscript|link"
              r"|meta|form|input|button|label|select|option|iframe|blockquote|pre|code"
              r"|time|svg|html|head|body|title)")

# Markup beyond doubt (on lowercased text): a closing tag, a tag with an attribute value, a
# self-closing tag. Wire copy's tickers in angle brackets ("Phillips <P>", "USAir Group <U>",
# "<Strong Point Inc.> said") have none of these, though their names collide with tag names.
_STRONG_TAG = re.compile(r"</" + _TAG_NAMES + r"\s*>|<" + _TAG_NAMES + r"\s[^<>]*=[^<>]*>|<" + _TAG_NAMES
                         + r"\s*/>")

# A bare tag written in lowercase (tickers are capitals): markup when the text opens with one or
# has two ("<p>First.<p>Second."); one alone inside prose is prose ("The <div> element is ...").
_BARE_LOWER = re.compile(r"<" + _TAG_NAMES + r">")

# Elements never written in prose: one of them anywhere makes the text markup.
_MARKUP_ONLY = re.compile(r"<(?:script|style|noscript|iframe)[\s>]|<!--|<!doctype[\s>]|"
                          r"<(?:html|head|body)[\s>]")

# Where a page's own structure starts: what trafilatura needs to tell article from furniture.
# Markup without any of these is a fragment of the story itself (all its visible text is kept).
_PAGE_PARTS = re.compile(r"<(?:!doctype|html|head|body|article|main|nav|header|footer|aside)[\s>]")


# What every markup test of ``looks_like_html`` needs, as one RE2 pattern run over a column in Arrow:
# a "<" followed by "/" or "!" or a known element name and a character that ends the name. A necessary
# condition only (case-insensitive here, where ``looks_like_html`` lowercases: that finds more, never
# less), so a body it misses is plain text without the Python regexes: wire copy's tickers in angle
# brackets ("<Strong Point Inc.>", "<USAir Group>") are most of the bodies with both "<" and ">".
_MAYBE_MARKUP = r"(?i)<(?:[/!]|" + _TAG_NAMES + r"[^a-z0-9])"


def maybe_html(bodies) -> np.ndarray:
    """Per string of an Arrow string array (bool numpy array; False for nulls): whether
    ``looks_like_html`` could be True for it; where this is False, it is False."""
    return np.asarray(pc.match_substring_regex(bodies, _MAYBE_MARKUP).fill_null(False).to_numpy(zero_copy_only=False),
                      bool)


def looks_like_html(text: str) -> bool:
    """True when ``text`` is HTML markup (a page or a fragment), not plain text with a ``<``.

    Wherever the markup sits: a comment, doctype, ``<script>``/``<style>`` or ``<html>``/``<body>``
    anywhere; a closing tag, a tag with an attribute value or a self-closing tag of a known element
    anywhere; a bare lowercase known tag opening the text, or two of them anywhere. Plain text (``a <
    b``, ``<newsdesk@example.com>``, one tag named in prose, wire tickers such as ``<P>`` or ``<Strong
    Point Inc.>``) is not. Answers ``False`` without a regex when there is no ``<`` or no ``>``.
    """
    if "<" not in text or ">" not in text:  # plain text, including "a < b" and "x<y"
        return False
    low = text.lower()
    if _MARKUP_ONLY.search(low) or _STRONG_TAG.search(low):
        return True
    if _BARE_LOWER.match(text.lstrip("\ufeff \t\r\n")):
        return True
    found = 0
    for _ in _BARE_LOWER.finditer(text):
        found += 1
        if found >= 2:
            return True
    return False


def is_fragment(html: str) -> bool:
    """True when markup has none of a page's structure (doctype, html/head/body, article/main,
    nav/header/footer/aside): a story delivered with inline tags, whose visible text is the story."""
    return _PAGE_PARTS.search(html.lower()) is None


# --------------------------------------------------------------------------- full visible text

# Elements whose content is never visible text.
_INVISIBLE = ("head", "script", "style", "noscript", "template", "svg", "math", "iframe",
              "object", "embed", "canvas", "select", "button")

# Elements that start a new line when rendered.
_BLOCK = frozenset({
    "address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "details",
    "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
    "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "html", "li", "main", "nav", "ol",
    "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "ul",
})


def block_text(node: LexborNode) -> str:
    """Text under a parsed selectolax node, one line per block element.

    Inline markup (``<b>``, ``<a>``, ``<span>``...) stays inside its line; block
    elements (``<p>``, ``<div>``, ``<li>``, ``<br>``...) break lines; whitespace
    is collapsed and empty lines dropped. Iterative, so deeply nested markup
    cannot exhaust the Python stack.
    """
    parts: list[str] = []
    stack: list[tuple[LexborNode, bool]] = [(node, False)]
    while stack:
        current, closing = stack.pop()
        if closing:
            parts.append("\n")
            continue
        if current.is_text_node:
            parts.append(current.text_content or "")
            continue
        if current.tag in _BLOCK:
            parts.append("\n")
            stack.append((current, True))
        children = []
        child = current.child
        while child is not None:
            children.append(child)
            child = child.next
        stack.extend((c, False) for c in reversed(children))
    return _tidy_lines("".join(parts))


def visible_text(html: str) -> str:
    """All visible text of a page (head, scripts, styles and the like removed)."""
    tree = LexborHTMLParser(html)
    for tag in _INVISIBLE:
        for element in tree.css(tag):
            element.decompose()
    root = tree.body or tree.root
    return block_text(root) if root is not None else ""


def _tidy_lines(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


# --------------------------------------------------------------------------- article text

# Below this many words the precision-mode result is double-checked with the default mode.
_SHORT_WORDS = 50

# A line of article prose: at least this many words and a sentence end. The page's prose is what
# an extraction must not lose; menus, teasers and captions rarely look like this.
_PROSE_WORDS = 12
_SENTENCE_END = re.compile(r"[.!?。！？][\"'”’)\]]*$")

# A stub extraction is a fragment when it holds less than this share of the page's prose words;
# a fallback replaces it only when it holds at least this many times its prose.
_FRAGMENT_SHARE = 0.5
_FALLBACK_GAIN = 1.5

# Which path produced a page's text (``body_source``), most precise first.
SOURCES = ("html:precision", "html:default", "html:recall", "html:justext", "html:fragment",
           "html:visible", "html:none")


def prose_words(text: str) -> int:
    """Words on the lines of ``text`` that read as prose (>= 12 words, ending a sentence)."""
    n = 0
    for line in text.split("\n"):
        w = len(line.split())
        if w >= _PROSE_WORDS and _SENTENCE_END.search(line):
            n += w
    return n


def _trafilatura(html: str, **options) -> str:
    import trafilatura  # deferred: a second or so to import, and plain-text batches never need it

    text = trafilatura.extract(html, output_format="txt", include_comments=False,
                               include_tables=True, **options)
    return _tidy_lines(text) if text else ""


_STOPWORDS: frozenset | None = None


def _justext(html: str) -> str:
    """jusText 3.0.2 with the stopwords of all its languages (its documented language-independent
    use), so that it classifies pages in any language; paragraphs it keeps, one per line."""
    global _STOPWORDS
    import justext  # deferred, as trafilatura (it is one of trafilatura's own dependencies)

    if _STOPWORDS is None:
        _STOPWORDS = frozenset().union(*(justext.get_stoplist(lang) for lang in justext.get_stoplists()))
    paragraphs = justext.justext(html.encode("utf-8", "replace"), _STOPWORDS, encoding="utf-8")
    return _tidy_lines("\n".join(p.text for p in paragraphs if not p.is_boilerplate))


# The page's largest block of sentences: prose lines (``prose_words``) with at most this many other
# lines between two of them (a subhead, an image caption, an advertisement slot).
_BLOCK_GAP = 2
# An extraction is cut short when at least this share of its words lie in the page's largest block
# of sentences while it holds under _BLOCK_CUT of that block's words, and the block has at least
# _BLOCK_MIN_WORDS; a fallback replaces it when it holds at least _BLOCK_FULL of the block.
_BLOCK_INSIDE = 0.9
_BLOCK_CUT = 0.6
_BLOCK_MIN_WORDS = 200
_BLOCK_FULL = 0.9
# trafilatura's fast mode is not trusted when under this share of its words lie in that block.
_FAST_INSIDE = 0.5
_WORD = re.compile(r"\w+")


def _bag(text: str) -> Counter:
    return Counter(_WORD.findall(text.lower()))


def largest_block(text: str) -> str:
    """The largest block of sentences of ``text`` (lines separated by ``"\\n"``): its prose lines
    (>= 12 words, ending a sentence) that follow one another with at most ``_BLOCK_GAP`` other lines
    between, the run with the most words; the block's prose lines joined by ``"\\n"`` (``""`` when
    there is no prose)."""
    best, best_words, run, words, gap = [], 0, [], 0, 0
    for line in text.split("\n"):
        w = len(line.split())
        if w >= _PROSE_WORDS and _SENTENCE_END.search(line):
            run.append(line)
            words += w
            gap = 0
            continue
        gap += 1
        if gap > _BLOCK_GAP and run:
            if words > best_words:
                best, best_words = run, words
            run, words = [], 0
    if words > best_words:
        best = run
    return "\n".join(best)


def _cut_short(text: str, block: Counter) -> bool:
    """True when ``text`` is a piece of the page's largest block of sentences (``block``, its bag
    of lowercase words) rather than the whole of it: the extractor stopped inside the article."""
    n_block, n_text = sum(block.values()), len(text.split())
    if n_block < _BLOCK_MIN_WORDS or not n_text:
        return False
    shared = sum((_bag(text) & block).values())
    return shared >= _BLOCK_INSIDE * n_text and shared < _BLOCK_CUT * n_block


def _article_text(html: str) -> str:
    return _article_text_sourced(html)[0]


def _article_text_sourced(html: str) -> tuple[str, str]:
    # trafilatura's fast mode skips its own comparison with readability and jusText (a third of a
    # page's time). Its text is kept unless it is a stub or lies mostly outside the page's largest
    # block of sentences; those pages take the full path. On the 181 benchmark pages: F1 0.974 ->
    # 0.977 (one page the full mode cut to its furniture), 1.2-1.3x the pages a second
    # (docs/html-extraction.md).
    text = _trafilatura(html, favor_precision=True, fast=True)
    n = len(text.split())
    if n < _SHORT_WORDS:
        return _full_article_text(html)
    try:
        block = _bag(largest_block(visible_text(html)))
    except Exception:  # noqa: BLE001 - a third-party parser on arbitrary web input
        return text, "html:precision"
    n_block = sum(block.values())
    shared = sum((_bag(text) & block).values())
    if n_block >= _BLOCK_MIN_WORDS and shared < _FAST_INSIDE * n and shared < _BLOCK_CUT * n_block:
        return _full_article_text(html)
    return _whole_block(html, text, "html:precision", block)


def _full_article_text(html: str) -> tuple[str, str]:
    text, source = _trafilatura(html, favor_precision=True), "html:precision"
    if len(text.split()) < _SHORT_WORDS:
        fuller = _trafilatura(html)
        if len(fuller.split()) > len(text.split()):
            text, source = fuller, "html:default"
    # A stub (nothing, a lede, a caption) is not trusted while the page shows more prose: the
    # extractor's recall mode, then jusText, may find the article it missed. Only for stubs: on the
    # benchmark pages, replacing a full-length extraction whenever the page held more prose pulled in
    # comments and related stories far more often than it recovered a missed article block.
    # A full-length extraction is replaced only when it is a piece of the page's largest block of
    # sentences (``_whole_block``).
    if len(text.split()) >= _SHORT_WORDS:
        return _whole_block(html, text, source)
    if len(text.split()) < _SHORT_WORDS:
        try:
            page = prose_words(visible_text(html))
        except Exception:  # noqa: BLE001 - a third-party parser on arbitrary web input
            page = 0
        got = prose_words(text)
        for name, run in (("html:recall", lambda h: _trafilatura(h, favor_recall=True)), ("html:justext", _justext)):
            if not page or got >= _FRAGMENT_SHARE * page:
                break
            try:
                other = run(html)
            except Exception:  # noqa: BLE001
                log.debug("%s failed", name, exc_info=True)
                continue
            more = prose_words(other)
            if more >= _FALLBACK_GAIN * max(got, 1):
                text, source, got = other, name, more
    return text, source


def _whole_block(html: str, text: str, source: str, block: Counter | None = None) -> tuple[str, str]:
    """An extraction that stopped inside the page's largest block of sentences (``_cut_short``: a
    page whose article body is split over sibling containers, of which the extractor keeps the
    first) is replaced by trafilatura's recall mode, then jusText, whichever first holds at least
    ``_BLOCK_FULL`` of that block's words; else it stays. ``block``: that block's bag of words,
    when the caller has it already."""
    if block is None:
        try:
            block = _bag(largest_block(visible_text(html)))
        except Exception:  # noqa: BLE001 - a third-party parser on arbitrary web input
            return text, source
    if not _cut_short(text, block):
        return text, source
    need = _BLOCK_FULL * sum(block.values())
    for name, run in (("html:recall", lambda h: _trafilatura(h, favor_recall=True)), ("html:justext", _justext)):
        try:
            other = run(html)
        except Exception:  # noqa: BLE001
            log.debug("%s failed", name, exc_info=True)
            continue
        if sum((_bag(other) & block).values()) >= need:
            return other, name
    return text, source


def html_to_text(html: str) -> str:
    """The article text of an HTML page, paragraphs separated by ``"\\n"``.

    ``html_to_text_sourced`` without the path."""
    return html_to_text_sourced(html)[0]


def html_to_text_sourced(html: str) -> tuple[str, str]:
    """The text of HTML markup, paragraphs separated by ``"\\n"``, and the path that produced it
    (one of ``SOURCES``).

    A fragment (``is_fragment``: inline tags around the story itself) gives all its visible text
    (``html:fragment``). A page gives its main content via trafilatura (precision mode, then the
    default mode when that is short); when that is still a stub (under 50 words) holding under half of
    the page's prose (``prose_words``), trafilatura's recall mode and then jusText are tried and kept when they hold
    at least 1.5 times as much prose (``html:recall`` / ``html:justext``); a longer one that is only a
    piece of the page's largest block of sentences is replaced the same way by the first of them holding
    nine tenths of that block (``_whole_block``). The full visible text
    when the extractors find nothing (``html:visible``); ``""`` when even that fails
    (``html:none``). Never raises on broken markup.
    """
    if not html or not html.strip():
        return "", "html:none"
    if is_fragment(html):
        try:
            return visible_text(html), "html:fragment"
        except Exception:  # noqa: BLE001
            log.debug("selectolax failed on a fragment", exc_info=True)
            return "", "html:none"
    try:
        text, source = _article_text_sourced(html)
    except Exception:  # a third-party parser on arbitrary web input: never let it stop the job
        log.debug("trafilatura failed; falling back to visible text", exc_info=True)
        text, source = "", "html:none"
    if text:
        return text, source
    try:
        return visible_text(html), "html:visible"
    except Exception:
        log.debug("selectolax failed; returning no text", exc_info=True)
        return "", "html:none"
