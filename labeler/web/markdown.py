"""Markdown instructions rendered to HTML that is safe to show to anyone.

Instructions are written by engineers and read by every rater, sme and admin of
the project, so a hostile author must not be able to run script in a reader's
browser. Python-Markdown renders, then nh3 (Ammonia, an allowlist sanitiser)
keeps only the tags, attributes and URL schemes listed here. An allowlist run
last is what stops the tricks a deny-list misses (``javascript&colon;``,
entity-encoded schemes, ``data:`` URLs, event-handler attributes): the browser
never receives anything that is not on the list.
"""

from __future__ import annotations

import markdown
import nh3
from markdown.extensions import Extension
from markupsafe import Markup

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "h1",
    "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre",
    "s", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def sanitize_html(html: str) -> str:
    """Keep only allowlisted tags, attributes and URL schemes.

    >>> sanitize_html('<a href="javascript&colon;alert(1)">x</a><script>bad()</script>')
    '<a rel="noopener noreferrer">x</a>'
    >>> sanitize_html('<a href="https://example.org/">ok</a>')
    '<a href="https://example.org/" rel="noopener noreferrer">ok</a>'
    """
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


class _RawHtmlAsText(Extension):
    """Markdown without raw HTML: tags typed in the text come out escaped, as text.

    What Python-Markdown's 3.0 notes suggest in place of the removed ``safe_mode``;
    unlike escaping the text up front it keeps ``>`` quotes and code spans intact.
    """

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (Markdown's API)
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")


def render_markdown(text: str | None) -> Markup:
    """Instructions as HTML: Markdown first, then the allowlist as the last step.

    >>> str(render_markdown("**bold** <b>raw</b>"))
    '<p><strong>bold</strong> &lt;b&gt;raw&lt;/b&gt;</p>'
    >>> "href" in str(render_markdown("[x](javascript&#58;alert(1))"))
    False
    """
    html = markdown.markdown(text or "", extensions=[_RawHtmlAsText(), "sane_lists", "tables"])
    return Markup(sanitize_html(html))
