"""Link relations of a fetched page: the HTTP ``Link`` header (RFC 8288) first, then HTML
``<link>`` elements, each list in document order (IndieAuth §4.1's precedence)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin

from ..fetch import Fetched

_LINK_VALUE = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]*)*)")
_REL = re.compile(r"""\brel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))""", re.IGNORECASE)
#: HTML read for ``<link>`` elements: enough for any real page's head.
HTML_SCAN_BYTES = 256 * 1024


class _LinkElements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[set[str], str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("link", "a"):
            return
        values = dict(attrs)
        rel, href = values.get("rel"), values.get("href")
        if tag == "link" and rel and href is not None:
            self.found.append((set(rel.lower().split()), href))


def header_links(value: str) -> list[tuple[set[str], str]]:
    """``(rels, target)`` of each link in a ``Link`` header value."""
    links = []
    for match in _LINK_VALUE.finditer(value):
        rel = _REL.search(match[2])
        if rel:
            links.append((set((rel[1] or rel[2] or "").lower().split()), match[1].strip()))
    return links


def find_link(page: Fetched, rel: str) -> str | None:
    """The absolute URL of the first ``rel`` link of ``page``, or None."""
    for rels, target in header_links(page.headers.get("link", "")):
        if rel in rels:
            return urljoin(page.url, target)
    if "html" not in page.headers.get("content-type", ""):
        return None
    parser = _LinkElements()
    parser.feed(page.body[:HTML_SCAN_BYTES].decode("utf-8", "replace"))
    for rels, target in parser.found:
        if rel in rels:
            return urljoin(page.url, target)
    return None
