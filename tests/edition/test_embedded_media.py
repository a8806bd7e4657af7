"""Foreign markup in a document (XHTML script, object, iframe… inside a figure) never reaches
the HTML or the plain text: a placeholder says it is kept in the TEI."""

from __future__ import annotations

import lxml.html

from edition.tei import TEI_NS
from edition.tei.parsing import parse_document_div
from edition.tei.plaintext import render_plaintext
from edition.tei.render import render_html

XHTML_NS = "http://www.w3.org/1999/xhtml"
FIGURE = (
    '<figure><xhtml:script>alert(1)</xhtml:script>\n'
    '<xhtml:object data="x.swf" type="application/x-shockwave-flash" onload="steal()">'
    '<xhtml:param name="movie" value="x.swf"/><xhtml:embed src="x.swf" onerror="steal()"/>'
    '</xhtml:object>'
    '<head>Map of Korea</head><figDesc>The demarcation line, 1960</figDesc></figure>'
    '<p>Before <xhtml:iframe src="https://example.org/" onload="steal()">framed words'
    '</xhtml:iframe> after.</p>'
    '<p xml:id="x"><xhtml:video xml:id="p_V1" src="v.mp4"><xhtml:source src="v.webm"/>'
    '</xhtml:video>Words.</p>'
)


def div():
    return parse_document_div(
        f'<div xmlns="{TEI_NS}" xmlns:xhtml="{XHTML_NS}" type="document" xml:id="d7" n="7">'
        f"<head>7. Telegram</head>{FIGURE}</div>"
    )


def test_no_foreign_element_or_attribute_reaches_the_html():
    html = render_html(div(), doc_href=lambda xml_id: f"/ed/{xml_id}/")
    for word in ("<script", "<object", "<embed", "<iframe", "<video", "<param", "<source",
                 "alert(1)", "x.swf", "steal", "framed words", "onload", "onerror", "v.mp4"):
        assert word not in html, word
    root = lxml.html.fragment_fromstring(html)
    assert not root.xpath("//@*[starts-with(name(), 'on')]")
    assert not root.xpath("//*[@id='p_V1']")  # ids inside foreign markup are not anchors


def test_the_figure_says_what_is_missing_and_keeps_its_caption():
    root = lxml.html.fragment_fromstring(render_html(div(), doc_href=lambda x: x))
    (figure,) = root.xpath("//figure")
    (placeholder,) = figure.xpath("div[contains(@class, 'embedded-media')]")  # one for the run
    assert placeholder.get("role") == "note"
    assert placeholder.text == "Embedded media (not shown here: kept in the TEI)"
    assert "layer-skip" in placeholder.get("class")  # not text of the document for proposing
    caption = " ".join(figure.xpath("figcaption")[0].text_content().split())
    assert caption == "Map of Korea The demarcation line, 1960"
    # in a paragraph the placeholder is inline, and the words around it stay
    (p,) = root.xpath("//p[contains(., 'Before')]")
    assert p.xpath("span[contains(@class, 'embedded-media')]")
    assert " ".join(p.text_content().split()).endswith("after.")


def test_plain_text_names_the_media_and_leaks_nothing():
    text = render_plaintext(div())
    for word in ("alert(1)", "x.swf", "framed words", "steal"):
        assert word not in text, word
    assert "[Embedded media]\n\nMap of Korea\n\nThe demarcation line, 1960" in text
    assert "Before [Embedded media] after." in text
    assert "[Embedded media]Words." in text or "[Embedded media] Words." in text


def test_frus_namespace_elements_are_ours():
    frus = "http://history.state.gov/frus/ns/1.0"
    attached = parse_document_div(
        f'<div xmlns="{TEI_NS}" xmlns:frus="{frus}" type="document" xml:id="d8">'
        "<head>8. T</head><frus:attachment><p>Attached text.</p></frus:attachment></div>"
    )
    html = render_html(attached, doc_href=lambda x: x)
    assert "Attached text." in html and "embedded-media" not in html
