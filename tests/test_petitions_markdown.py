"""Petition bodies are organizers' Markdown; what reaches a signer's browser is sanitised."""

from __future__ import annotations

from petitionkit.petitions.markdown import render_markdown


def test_markdown_renders_the_usual_things() -> None:
    html = render_markdown("# Free her\n\n**Now**, *please*.\n\n1. Write\n2. Sign\n\n> quoted\n")
    assert "<h1>Free her</h1>" in html
    assert "<strong>Now</strong>" in html and "<em>please</em>" in html
    assert "<ol>" in html and "<li>Write</li>" in html
    assert "<blockquote>" in html


def test_links_keep_their_address_and_gain_a_safe_rel() -> None:
    html = render_markdown("[the report](https://example.org/report)")
    assert 'href="https://example.org/report"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_script_and_iframe_never_reach_the_page() -> None:
    source = (
        "Hello <script>alert('x')</script>\n\n"
        "<iframe src=\"https://example.net/\"></iframe>\n\n"
        "<img src=x onerror=alert(1)>\n"
    )
    html = render_markdown(source)
    assert "<script" not in html
    assert "<iframe" not in html
    assert "<img" not in html
    assert "&lt;img" in html, "raw HTML is shown as inert text"


def test_javascript_links_are_removed() -> None:
    for source in (
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "<javascript:alert(1)>",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
    ):
        html = render_markdown(source).lower()
        assert "<a" not in html, html
        assert 'href="javascript' not in html and 'href="data' not in html, html


def test_safe_links_survive_next_to_unsafe_ones() -> None:
    html = render_markdown("[ok](https://example.org) and [bad](javascript:alert(1))")
    assert html.count("<a ") == 1
    assert 'href="https://example.org"' in html


def test_raw_html_is_shown_as_text_not_markup() -> None:
    html = render_markdown('<a href="https://example.org" onclick="steal()">x</a>')
    assert "<a " not in html
    assert "&lt;a" in html
