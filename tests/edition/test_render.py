"""HTML rendering of a FRUS document div (edition/tei/render.py); no database needed."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import lxml.html
import pytest
from lxml import etree

from edition.tei import TEI_NS
from edition.tei.parsing import parse_document_div
from edition.tei.notes import collect_footnotes
from edition.tei.render import render_html
from tests.helpers import D143_TEXT
from tests.helpers import EXCERPT as SAMPLE

NS = {"tei": TEI_NS}


def doc_href(doc_id: str) -> str:
    return f"/frus1958-60v18/{doc_id}/"


def sample_document(doc_id: str) -> etree._Element:
    tree = etree.parse(str(SAMPLE))
    (div,) = tree.xpath(f"//tei:div[@type='document'][@xml:id='{doc_id}']", namespaces=NS)
    return div


def tei_div(body: str, doc_id: str = "d150") -> etree._Element:
    return parse_document_div(
        f'<div xmlns="{TEI_NS}" xmlns:frus="http://history.state.gov/frus/ns/1.0" '
        f'type="document" xml:id="{doc_id}" n="150">{body}</div>'
    )


def html_tree(fragment: str) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(fragment)


def words(text: str) -> str:
    return " ".join(text.split())


def tei_words_without_notes(el: etree._Element) -> str:
    el = copy.deepcopy(el)
    for note in el.xpath(".//tei:note", namespaces=NS):
        parent, tail = note.getparent(), note.tail or ""
        previous = note.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
        parent.remove(note)
    return words("".join(el.itertext()))


def assert_fragment_links_resolve(fragment: str) -> None:
    root = html_tree(fragment)
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert len(ids) == len(set(ids)), f"duplicate ids: {sorted(i for i in ids if ids.count(i) > 1)}"
    for a in root.iter("a"):
        href = a.get("href")
        if href and href.startswith("#"):
            assert href[1:] in ids, f"{href} points nowhere"


@pytest.fixture(scope="module")
def d142_html() -> str:
    return render_html(sample_document("d142"), doc_href=doc_href)


@pytest.fixture(scope="module")
def d142(d142_html: str) -> lxml.html.HtmlElement:
    return html_tree(d142_html)


def test_output_is_one_article_with_the_document_id(d142):
    assert d142.tag == "article"
    assert d142.get("id") == "d142"
    assert d142.get("class") == "tei-document"
    assert d142.get("lang") == "en"


def test_heading_is_h1_with_source_marker(d142):
    (h1,) = d142.findall(".//h1")
    assert words(h1.text_content()) == "142. Memorandum of ConversationSource"
    (marker,) = h1.xpath("sup[contains(@class, 'fnref')]/a")
    assert marker.text == "Source"
    assert marker.get("href") == "#fn-d142fn0"
    assert marker.get("id") == "fnref-d142fn0"


def test_every_paragraph_is_present(d142):
    body_paragraphs = d142.xpath("./p")
    tei_paragraphs = sample_document("d142").xpath("tei:p", namespaces=NS)
    assert len(body_paragraphs) == len(tei_paragraphs) == 2
    for html_p, tei_p in zip(body_paragraphs, tei_paragraphs):
        html_p = copy.deepcopy(html_p)
        for marker in html_p.xpath(".//*[contains(@class, 'pb') or contains(@class, 'fnref')]"):
            marker.drop_tree()
        assert words(html_p.text_content()) == tei_words_without_notes(tei_p)


def test_source_note_is_first_and_labelled_source(d142):
    items = d142.xpath("//section[@class='footnotes']/ol/li")
    assert [li.get("id") for li in items] == ["fn-d142fn0", "fn-d142fn1"]
    # The note says "Source:" itself: no "Source." label before it (never "Source. Source:").
    assert items[0].xpath("span[@class='fn-label']") == []
    assert words(items[0].text_content()).startswith("Source: Department of State")
    assert "Department of State, Conference Files" in items[0].text_content()


def test_source_note_without_its_own_word_keeps_the_label():
    div = etree.fromstring(
        '<div xmlns="http://www.tei-c.org/ns/1.0" type="document" n="1" xml:id="d1">'
        '<head>Memo<note n="0" xml:id="d1fn0">Department of State, Central Files.</note></head>'
        "<p>Text.</p></div>"
    )
    tree = lxml.html.fromstring(render_html(div, doc_href=doc_href))
    [label] = tree.xpath("//li[@id='fn-d1fn0']/span[@class='fn-label']")
    assert label.text == "Source."


def test_footnote_1_body_and_links(d142, d142_html):
    (fn1,) = d142.xpath("//li[@id='fn-d142fn1']")
    assert fn1.xpath("span[@class='fn-label']")[0].text == "1."
    assert "Telegram 515 from Seoul" in words(fn1.text_content())
    assert 'href="#fn-d142fn1"' in d142_html
    (back,) = fn1.xpath("a[@class='fn-back']")
    assert back.get("href") == "#fnref-d142fn1"
    assert back.get("aria-label") == "Back to the text of note 1"
    (marker,) = d142.xpath("//a[@id='fnref-d142fn1']")
    assert marker.text == "1" and marker.get("aria-label") == "Note 1"


def test_notes_section_is_labelled(d142):
    (section,) = d142.xpath("//section[@class='footnotes']")
    assert section.get("aria-labelledby") == "notes-d142"
    assert section.xpath("h2[@id='notes-d142']")[0].text == "Notes"


def test_every_fragment_link_has_a_target(d142_html):
    assert_fragment_links_resolve(d142_html)
    assert_fragment_links_resolve(render_html(sample_document("d144"), doc_href=doc_href))


def test_page_marker_stands_inside_the_sentence(d142):
    (pb,) = d142.xpath("//a[@class='pb']")
    assert pb.get("id") == "pg_276" and pb.get("href") == "#pg_276"
    assert pb.get("aria-label") == "Page 276"
    text = words(d142.xpath("./p")[0].text_content())
    assert "expressed appreciation [Page 276] for the restrained manner" in text


def test_page_break_between_blocks(d142_html):
    html = render_html(sample_document("d144"), doc_href=doc_href)
    root = html_tree(html)
    (pb,) = root.xpath("./a[@class='pb']")  # a direct child of the article, not inside a <p>
    assert pb.text == "[Page 279]"


def test_ref_to_other_document_uses_doc_href(d142):
    links = d142.xpath("//section[contains(@class, 'list-participants')]//a")
    assert [(a.get("href"), a.text) for a in links] == [("/frus1958-60v18/d139/", "Document 139")]
    source = d142.xpath("//li[@id='fn-d142fn0']//a[not(@class)]")
    expected = [doc_href(d) for d in ("d139", "d141", "d143", "d146")]
    assert [a.get("href") for a in source] == expected


def test_subject_and_participants_lists(d142):
    (subject,) = d142.xpath("//section[@class='list list-subject']")
    assert subject.xpath("h2[@class='list-head']")[0].text == "SUBJECT"
    assert [li.text for li in subject.xpath("ul[@class='plain']/li")] == [
        "Problems Relating to the Republic of Korea"
    ]
    assert d142.xpath("//section[@class='list list-participants']/h2")[0].text == "PARTICIPANTS"


def test_dateline_persname_and_gloss(d142):
    (dateline,) = d142.xpath("//div[@class='opener']/p[@class='dateline']")
    assert words(dateline.text_content()) == "Washington, January 19, 1960, 3:30–5:30 p.m."
    herter = d142.xpath("//span[@class='persname'][.='Herter']")[0]
    assert herter.get("data-corresp") == "#p_HCAJ1"
    assert d142.xpath("//span[@class='gloss']")[0].get("data-target") == "#t_UN1"


def test_markup_in_text_and_attributes_comes_out_escaped():
    div = tei_div(
        "<head>1. Title</head>"
        "<p>&lt;script&gt;alert(1)&lt;/script&gt; and &lt;b onclick=\"x()\"&gt;bold&lt;/b&gt;"
        '<persName corresp="&quot;&gt;&lt;b onclick=alert(1)&gt;">X</persName>'
        '<ref target="javascript:alert(1)">bad</ref>'
        '<ref target="https://example.org/?a=1&amp;b=&quot;2&quot;">ext</ref>'
        "<script>evil()</script></p>"
    )
    html = render_html(div, doc_href=doc_href)
    assert "<script" not in html and "<b " not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    root = html_tree(html)
    assert not root.xpath("//script | //b | //@onclick")
    assert root.xpath("//span[@class='persname']")[0].get("data-corresp") == (
        '"><b onclick=alert(1)>'
    )
    assert root.xpath("//span[@class='ref']")[0].text == "bad"  # javascript: is never a link
    (external,) = root.xpath("//a[.='ext']")
    assert external.get("href") == 'https://example.org/?a=1&b="2"'
    assert external.get("rel") == "noopener"
    assert root.xpath("//span[@class='tei-script']")[0].text == "evil()"


def test_unknown_element_text_is_kept():
    div = tei_div(
        "<head>1. Title</head><p>Before <frobnicate>unknown words</frobnicate> after.</p>"
        "<mystery><p>Block inside an unknown element.</p></mystery>"
    )
    root = html_tree(render_html(div, doc_href=doc_href))
    assert root.xpath("//p/span[@class='tei-frobnicate']")[0].text == "unknown words"
    assert words(root.xpath("./p")[0].text_content()) == "Before unknown words after."
    assert root.xpath("./div[@class='tei-mystery']/p")[0].text == "Block inside an unknown element."


def test_comments_and_processing_instructions_are_skipped():
    div = tei_div("<head>1. Title</head><p>One <!-- hidden --> two<?pi x?> three.</p>")
    root = html_tree(render_html(div, doc_href=doc_href))
    assert root.xpath("./p")[0].text == "One two three."


def test_refs_within_the_document_and_to_other_volumes():
    div = tei_div(
        '<head>1. Title</head><p>See <ref target="#pg_5">page 5</ref>, <ref target="#d150fn1">'
        'note 1</ref>, <ref target="#d139fn3">another note</ref>, <ref target="#pg_900">a page '
        'elsewhere</ref> and <ref target="frus1955-57v23#d3">another volume</ref>.'
        '<note n="1">A note.</note><pb n="5"/></p>'
    )
    html = render_html(div, doc_href=doc_href)
    root = html_tree(html)
    hrefs = {a.text: a.get("href") for a in root.xpath("//p/a[not(@class)]")}
    assert hrefs == {
        "page 5": "#pg_5",
        "note 1": "#fn-d150fn1",
        "another note": "/frus1958-60v18/d139/#fn-d139fn3",
    }
    assert [s.text for s in root.xpath("//span[@class='ref']")] == [
        "a page elsewhere",
        "another volume",
    ]
    assert_fragment_links_resolve(html)


def test_marker_inside_a_link_moves_after_it():
    div = tei_div('<head>1. T</head><p><ref target="#d1">Doc<note n="1">N.</note></ref> on.</p>')
    html = render_html(div, doc_href=doc_href)
    assert '<a href="/frus1958-60v18/d1/">Doc</a><sup class="fnref">' in html
    assert not html_tree(html).xpath("//a//a")


def test_notes_without_ids_nested_notes_and_paragraphs_in_notes():
    div = tei_div(
        "<head>1. T</head><p>Text<note>No n, no id.</note> more<note n=\"7\"><p>First "
        '<note n="7a">nested</note>.</p><p>Second.</p></note>.</p>'
    )
    html = render_html(div, doc_href=doc_href)
    root = html_tree(html)
    assert [fn.id for fn in collect_footnotes(div)] == ["d150fn1", "d150fn7"]
    assert [li.get("id") for li in root.xpath("//section[@class='footnotes']/ol/li")] == [
        "fn-d150fn1",
        "fn-d150fn7",
    ]
    (fn7,) = root.xpath("//li[@id='fn-d150fn7']")
    assert fn7.xpath(".//span[@class='inline-note']")[0].text == "nested"
    assert [p.text_content() for p in fn7.xpath("p")] == ["First nested.", "Second."]
    assert_fragment_links_resolve(html)


def test_lists_tables_quotes_and_attachments():
    div = tei_div(
        "<head>1. T</head>"
        '<list type="ordered"><head>Points</head><label>a.</label><item>Alpha</item>'
        '<pb n="6"/><item>Beta</item></list>'
        '<quote rend="blockquote"><p>Quoted.</p></quote>'
        "<p>Before <list><item>in-p item</item></list> after.</p>"
        '<table><head>Figures</head><row role="label"><cell>Year</cell></row>'
        '<row><cell cols="2">1960</cell></row></table>'
        '<frus:attachment><head>Attachment</head><p>Attached <hi rend="italic strong">text</hi>'
        ' <q>quoted</q>.</p></frus:attachment>'
        "<closer><salute>Sincerely,</salute><signed>Dulles</signed>Line<lb/>two</closer>"
    )
    html = render_html(div, doc_href=doc_href)
    root = html_tree(html)
    (ol,) = root.xpath("//div[@class='list list-ordered']/ol")
    assert words(ol.xpath("li")[0].text_content()) == "a. Alpha"
    assert ol.xpath("li")[1].xpath("a[@class='pb']")[0].text == "[Page 6]"  # stays inside an <li>
    assert root.xpath("//blockquote/p")[0].text == "Quoted."
    assert root.xpath("./div[@class='p']/ul/li")[0].text == "in-p item"  # no <ul> inside <p>
    assert root.xpath("//table/caption")[0].text == "Figures"
    assert root.xpath("//table//th")[0].text == "Year"
    assert root.xpath("//table//td")[0].get("colspan") == "2"
    (attachment,) = root.xpath("//section[@class='tei-div tei-div-attachment']")
    assert attachment.xpath("h2")[0].text == "Attachment"
    assert attachment.xpath(".//em/strong")[0].text == "text"
    assert attachment.xpath(".//q")[0].text == "quoted"
    assert root.xpath("//div[@class='closer']/p[@class='signed']")[0].text == "Dulles"
    assert root.xpath("//div[@class='closer']/br")


def test_cell_cols_superscript_two_renders_without_a_span():
    # "²".isdigit() is True and int("²") raises: a revision with it broke its page for everyone.
    div = tei_div('<head>1. T</head><table><row><cell cols="²">x</cell><cell rows="٣">y</cell>'
                  "</row></table>")
    root = html_tree(render_html(div, doc_href=doc_href))
    assert [td.text for td in root.xpath("//table//td")] == ["x", "y"]
    assert not root.xpath("//td[@colspan or @rowspan]")


def test_whitespace_is_collapsed_and_text_is_nfc():
    div = tei_div("<head>1. T</head><p>\n   Cafe\u0301 \t and\u00a0 \n  more   </p>")
    root = html_tree(render_html(div, doc_href=doc_href))
    assert root.xpath("./p")[0].text == "Caf\u00e9 and\u00a0 more"


def test_rendering_is_pure():
    div = sample_document("d142")
    before = etree.tostring(div)
    assert render_html(div, doc_href=doc_href) == render_html(div, doc_href=doc_href)
    assert etree.tostring(div) == before


def test_document_without_notes_has_no_footnote_section():
    html = render_html(tei_div("<head>1. T</head><p>Plain.</p>"), doc_href=doc_href)
    assert "footnotes" not in html
    assert re.fullmatch(
        r'<article [^>]+>\n<h1 data-o="0">1\. T</h1>\n<p data-o="6">Plain\.</p>\n</article>\n', html
    )


# -- text-layer offsets (data-o) for proposing in the reading view ---------------------------

SKIPPED_CLASSES = {"fnref", "pb", "footnotes", "layer-skip"}


class _NestedBlock(Exception):
    pass


def own_text(block: lxml.html.HtmlElement) -> str:
    """The block's text as the layer has it: skipped markers out, `<br>` a space, whitespace
    collapsed, up to the first nested element with an offset of its own (a new block)."""
    parts: list[str] = []

    def walk(node) -> None:
        parts.append(node.text or "")
        for child in node:
            if not isinstance(child.tag, str):
                pass
            elif SKIPPED_CLASSES & set((child.get("class") or "").split()):
                pass
            elif child.get("data-o") is not None:
                raise _NestedBlock
            elif child.tag == "br":
                parts.append(" ")
            else:
                walk(child)
            parts.append(child.tail or "")

    try:
        walk(block)
    except _NestedBlock:
        pass
    return re.sub(r"[ \t\r\n]+", " ", "".join(parts)).strip(" ")


def layer_blocks(div: etree._Element) -> dict[int, str]:
    from edition.tei import textlayer

    text = textlayer.build(div).text
    return {start: text[start:end] for start, end in textlayer.build(div).block_spans()}


def assert_offsets_match_layer(div: etree._Element, *, every_block: bool = True) -> None:
    blocks = layer_blocks(div)
    root = html_tree(render_html(div, doc_href=doc_href))
    marked = root.xpath("//*[@data-o]")
    assert marked, "no element carries an offset"
    for element in marked:
        assert not element.xpath("ancestor::*[contains(@class, 'footnotes')]")
        o = int(element.get("data-o"))
        assert o in blocks, f"data-o={o} on <{element.tag}> is not the start of a layer block"
        assert own_text(element) == blocks[o], f"<{element.tag} data-o={o}>"
    if every_block:
        assert {int(e.get("data-o")) for e in marked} == set(blocks)


@pytest.mark.parametrize("doc_id", ["d142", "d144"])
def test_block_offsets_point_at_the_text_layer(doc_id):
    assert_offsets_match_layer(sample_document(doc_id))


def test_block_offsets_of_a_plain_text_import():
    from edition.tei.fromtext import parse_plaintext

    text = D143_TEXT.read_text()
    assert_offsets_match_layer(parse_document_div(parse_plaintext(text).tei))


def test_block_offsets_with_inline_markup_lists_tables_and_odd_characters():
    div = tei_div(
        "<head>150. A <hi rend='italic'>T</hi>itle<note n='0' type='source'>Src.</note></head>"
        "<opener><dateline><placeName>Tokyo</placeName>,\n  <date>May 1</date></dateline></opener>"
        "<pb n='5'/><p>  First\u00a0line<lb/>second \U0001d504 line, cafe\u0301 and q\u0307"
        "<note n='1'>A <hi>note</hi>.</note> end.<pb n='6'/> <quote>Inline quote</quote> tail"
        " text</p>"
        "<list type='ordered'><head>Items</head><label>a.</label><item>Alpha</item>"
        "<label>b.</label><item>Beta <pb n='7'/>item</item></list>"
        "<table><head>Figures</head><row><cell>1</cell><cell>One</cell></row></table>"
        "<p><figure><graphic url='x.png'/><head>Fig</head></figure></p>"
        "<closer><salute>Sincerely,</salute><signed>A. Person</signed></closer>"
    )
    assert_offsets_match_layer(div, every_block=False)
    blocks = layer_blocks(div)
    root = html_tree(render_html(div, doc_href=doc_href))
    offsets = {int(e.get("data-o")) for e in root.xpath("//*[@data-o]")}
    # The tail after the inline quote has no element of its own; every other block has one.
    assert set(blocks) - offsets == {next(o for o, t in blocks.items() if t == "tail text")}
    assert root.xpath("//span[contains(@class, 'layer-skip')]")[0].text == "[Image]"


@pytest.mark.parametrize("body, shown", [
    ('appreciation <pb n="276"/> for the', "appreciation [Page 276] for the"),
    # As an edit writes the paragraph back: one space, before the break.
    ('appreciation <pb n="276"/>for the', "appreciation [Page 276] for the"),
    ('exam<pb n="276"/>ple', "exam[Page 276]ple"),  # a word broken across pages
])
def test_a_page_marker_never_touches_the_next_word_unless_the_source_does(body, shown):
    fragment = render_html(tei_div(f"<p>{body}</p>"), doc_href=doc_href)
    assert html_tree(fragment).xpath("string(//p)") == shown


class TestTheTEICannotReachThePagesOwnIdsAndClasses:
    """Approved TEI must never take over an element of the page (propose.js finds
    #propose-root; the proposing script skips .pb, .fnref, .layer-skip)."""

    def test_a_page_break_with_an_id_of_the_page_gets_a_page_anchor(self):
        tree = html_tree(render_html(
            tei_div('<p>before<pb n="277" xml:id="propose-root"/> after</p>'), doc_href=doc_href))
        assert not tree.xpath("//*[@id='propose-root']")
        assert tree.xpath("//a[@class='pb'][@id='pg_277'][@href='#pg_277']")

    def test_a_frus_page_id_is_kept(self):
        tree = html_tree(render_html(tei_div('<p>a<pb n="276" xml:id="pg_276"/> b</p>'),
                                     doc_href=doc_href))
        assert tree.xpath("//*[@id='pg_276']")

    def test_other_tei_ids_are_prefixed_and_refs_follow(self):
        tree = html_tree(render_html(tei_div(
            '<p><persName xml:id="main">Kishi</persName> see <ref target="#main">him</ref></p>'),
            doc_href=doc_href))
        assert not tree.xpath("//*[@id='main']")
        assert tree.xpath("//*[@id='tei-main']")
        assert tree.xpath("//a[@href='#tei-main']")

    @pytest.mark.parametrize("rend", ["layer-skip", "pb", "fnref", "footnotes"])
    def test_rend_never_becomes_one_of_the_pages_classes(self, rend):
        fragment = render_html(tei_div(f'<p>a <hi rend="{rend}">hidden</hi> b</p>'), doc_href=doc_href)
        tree = html_tree(fragment)
        assert not tree.xpath(f"//*[contains(concat(' ', @class, ' '), ' {rend} ')]")
        assert "hidden" in tree.text_content()

    def test_known_rend_values_keep_their_style(self):
        tree = html_tree(render_html(tei_div('<p>a <hi rend="smallcaps">Kishi</hi></p>'),
                                     doc_href=doc_href))
        assert tree.xpath("//span[@class='smallcaps']")


def test_the_pages_own_ids_stay_out_of_the_tei_namespaces():
    """Ids written by templates and scripts never take a form the rendered TEI uses."""
    root = Path(__file__).resolve().parents[2]
    reserved = re.compile(r'id="(tei-|pg_|fn-|fnref-|notes-)')
    found = [str(path.relative_to(root)) for path in [*root.glob("templates/**/*.html"),
                                                      *root.glob("*/static/**/*.js")]
             if reserved.search(path.read_text(encoding="utf-8"))]
    assert found == []
