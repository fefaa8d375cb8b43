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
  plain-text output, no comments); if that keeps fewer than 50 words it is
  re-run with its default settings and the longer result is kept, since the
  precision mode very occasionally prunes a real article to a stub. When
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
precision 0.967, recall 0.981, F1 0.969 (trafilatura default: 0.947 / 0.983 /
0.959), 40-60 pages/s on one core of the 2-core dev machine. Reproduce with

    .venv/bin/python bench/html_extraction.py

The full comparison is in docs/html-extraction.md.
"""

from __future__ import annotations

import logging
import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

__all__ = ["looks_like_html", "html_to_text", "visible_text", "block_text"]

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- sniffing

_SNIFF_CHARS = 4096

# A document start: doctype or the root/head elements (matched on lowercased text).
_PAGE_START = re.compile(r"<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>]|meta\s|title>)")

# Common tags, opening or closing, with optional attributes (matched on lowercased
# text: the same pattern with re.IGNORECASE measured about 3x slower).
_COMMON_TAG = re.compile(
    r"</?(?:p|div|span|a|br|hr|b|i|u|em|strong|small|sup|sub|ul|ol|li|dl|dt|dd"
    r"|h[1-6]|table|thead|tbody|tr|td|th|img|picture|source|figure|figcaption"
    r"|section|article|header|footer|nav|main|aside|script|style|noscript|link"
    r"|meta|form|input|button|label|select|option|iframe|blockquote|pre|code"
    r"|time|svg|html|head|body|title)(?:\s[^<>]*)?/?>")

_MIN_COMMON_TAGS = 3


def looks_like_html(text: str) -> bool:
    """True when ``text`` is HTML markup, not plain text that contains a ``<``.

    Looks only at the first 4 KiB. A page is recognised by a doctype or an
    ``<html>``/``<head>``/``<body>``/``<meta>``/``<title>`` tag when the text
    starts with markup; a fragment by at least three common HTML tags.
    """
    head = text[:_SNIFF_CHARS]
    if "<" not in head or ">" not in head:  # plain text, including "a < b" and "x<y"
        return False
    head = head.lower()
    if head.lstrip("\ufeff \t\r\n").startswith("<") and _PAGE_START.search(head):
        return True
    found = 0
    for _ in _COMMON_TAG.finditer(head):
        found += 1
        if found >= _MIN_COMMON_TAGS:
            return True
    return False


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


def _trafilatura(html: str, **options) -> str:
    import trafilatura  # deferred: a second or so to import, and plain-text batches never need it

    text = trafilatura.extract(html, output_format="txt", include_comments=False,
                               include_tables=True, **options)
    return _tidy_lines(text) if text else ""


def _article_text(html: str) -> str:
    text = _trafilatura(html, favor_precision=True)
    if len(text.split()) < _SHORT_WORDS:
        fuller = _trafilatura(html)
        if len(fuller.split()) > len(text.split()):
            text = fuller
    return text


def html_to_text(html: str) -> str:
    """The article text of an HTML page, paragraphs separated by ``"\\n"``.

    Main content via trafilatura; the full visible text when that finds
    nothing; ``""`` when even that fails. Never raises on broken markup.
    """
    if not html or not html.strip():
        return ""
    try:
        text = _article_text(html)
    except Exception:  # a third-party parser on arbitrary web input: never let it stop the job
        log.debug("trafilatura failed; falling back to visible text", exc_info=True)
        text = ""
    if text:
        return text
    try:
        return visible_text(html)
    except Exception:
        log.debug("selectolax failed; returning no text", exc_info=True)
        return ""
