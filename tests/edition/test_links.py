"""Links in rendered documents: names and terms to their registers, refs to documents of the
edition, to other volumes and upstream, and never a dead link (edition/tei/render.py `Links`,
edition/rendering.py `links_for`)."""

from __future__ import annotations

import lxml.html
import pytest
from lxml import etree

from edition import rendering
from edition.models import Document, Edition, Revision
from edition.tei import TEI_NS
from edition.tei.parsing import parse_document_div
from edition.tei.render import Links, render_html
from tests.helpers import SAMPLES

FRONT_MATTER = SAMPLES / "frus1958-60v18-with-front-matter.xml"
UPSTREAM = "https://history.state.gov/historicaldocuments/{volume}/{document}"


def tei_div(body: str, doc_id: str = "d150", div_type: str = "document") -> etree._Element:
    return parse_document_div(
        f'<div xmlns="{TEI_NS}" type="{div_type}" xml:id="{doc_id}" n="150">{body}</div>'
    )


def tree(fragment: str) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(fragment)


def doc_href(xml_id: str) -> str | None:
    return f"/ed/{xml_id}/" if xml_id in ("d139", "d150") else None


LINKS = Links(doc_href=doc_href,
              registers=(("persons", "/ed/persons/"), ("terms", "/ed/terms/")))


class TestMentions:
    def test_persname_links_to_its_entry_on_the_persons_page(self):
        html = render_html(tei_div('<p>Said <persName corresp="#p_KN1">Kishi</persName>.</p>'),
                           links=LINKS)
        (a,) = tree(html).xpath("//a[@class='persname']")
        assert a.get("href") == "/ed/persons/#p_KN1"
        assert a.get("data-entry") == "p_KN1"
        assert a.get("data-corresp") == "#p_KN1"  # kept for the proposing tools
        assert a.text == "Kishi"

    def test_gloss_and_term_link_to_the_terms_page(self):
        html = render_html(tei_div('<p><gloss target="#t_CPI1">CPI</gloss> and '
                                   '<term corresp="#t_UN1">UN</term></p>'), links=LINKS)
        root = tree(html)
        (gloss,) = root.xpath("//a[@class='gloss']")
        assert (gloss.get("href"), gloss.get("data-entry")) == ("/ed/terms/#t_CPI1", "t_CPI1")
        assert gloss.get("data-target") == "#t_CPI1"
        assert root.xpath("//a[@class='term']")[0].get("href") == "/ed/terms/#t_UN1"

    def test_without_a_register_unit_a_mention_stays_a_span(self):
        div = tei_div('<p><persName corresp="#p_KN1">Kishi</persName> '
                      '<gloss target="#t_CPI1">CPI</gloss></p>')
        root = tree(render_html(div, links=Links(doc_href=doc_href)))
        assert not root.xpath("//a")
        assert root.xpath("//span[@class='persname']")[0].get("data-corresp") == "#p_KN1"
        assert root.xpath("//span[@class='gloss']")[0].get("data-target") == "#t_CPI1"

    def test_a_name_inside_a_ref_stays_a_span(self):
        div = tei_div('<p><ref target="#d139">As <persName corresp="#p_KN1">Kishi</persName> '
                      'said</ref></p>')
        root = tree(render_html(div, links=LINKS))
        assert not root.xpath("//a//a")
        (ref,) = root.xpath("//a[@href='/ed/d139/']")
        assert ref.xpath("span[@class='persname']")[0].text == "Kishi"

    def test_a_note_in_a_name_moves_after_the_link(self):
        div = tei_div('<p><persName corresp="#p_KN1">Kishi<note n="1">PM.</note></persName> '
                      'spoke.</p>')
        root = tree(render_html(div, links=LINKS))
        assert not root.xpath("//a//a")
        (name,) = root.xpath("//a[@class='persname']")
        assert name.getnext().get("class") == "fnref"

    def test_a_target_not_naming_an_entry_is_no_link(self):
        div = tei_div('<p><persName corresp="javascript:x">A</persName>'
                      '<persName corresp="#p_&quot;x">B</persName></p>')
        assert not tree(render_html(div, links=LINKS)).xpath("//a")


class TestEntryIds:
    def test_entries_keep_their_ids_in_the_register_units(self):
        div = tei_div('<list type="persons"><item><persName xml:id="p_KN1">Kishi, Nobusuke'
                      '</persName>, Japanese Prime Minister</item></list>', "persons", "section")
        root = tree(render_html(div, links=LINKS))
        assert root.xpath("//*[@id='p_KN1']")[0].text == "Kishi, Nobusuke"
        terms = tei_div('<list><item><term xml:id="t_CPI1">CPI</term>, Consumer Price Index'
                        '</item></list>', "terms", "section")
        assert tree(render_html(terms, links=LINKS)).xpath("//*[@id='t_CPI1']")

    def test_other_ids_stay_in_the_tei_namespace(self):
        div = tei_div('<p xml:id="main">a <seg xml:id="px_1">b</seg></p>')
        root = tree(render_html(div, links=LINKS))
        assert root.xpath("//*[@id='tei-main']") and root.xpath("//*[@id='tei-px_1']")


class TestRefs:
    def test_a_document_not_in_the_edition_is_plain_text(self):
        div = tei_div('<p>See <ref target="#d139">Document 139</ref> and '
                      '<ref target="#d141fn2">note 2 of 141</ref>.</p>')
        root = tree(render_html(div, links=LINKS))
        assert root.xpath("//a[@href='/ed/d139/']")
        (missing,) = root.xpath("//span[@class='ref ref-missing']")
        assert missing.text == "note 2 of 141"
        assert missing.get("title") == "Document 141 is not in this edition"

    def test_doc_href_alone_still_works(self):
        html = render_html(tei_div('<p><ref target="#d139">139</ref></p>'),
                           doc_href=lambda xml_id: f"/x/{xml_id}/")
        assert tree(html).xpath("//a[@href='/x/d139/']")

    @pytest.mark.parametrize("target, expected", [
        ("frus1958-60v17", ("frus1958-60v17", "")),
        ("frus1958-60v17#d12", ("frus1958-60v17", "d12")),
        ("frus1958-60v17/d12", ("frus1958-60v17", "d12")),
        ("frus1958-60v17/", ("frus1958-60v17", "")),
        ("frus1958-60v17#d12fn3", ("frus1958-60v17", "d12")),
    ])
    def test_other_volume_targets(self, target, expected):
        asked = []

        def volume_href(volume, document):
            asked.append((volume, document))
            return "/elsewhere/"

        links = Links(doc_href=doc_href, volume_href=volume_href)
        root = tree(render_html(tei_div(f'<p><ref target="{target}">v</ref></p>'), links=links))
        assert asked == [expected]
        note = "#fn-d12fn3" if target.endswith("fn3") else ""
        assert root.xpath(f"//a[@href='/elsewhere/{note}']")

    def test_an_unresolved_volume_is_plain_text(self):
        links = Links(doc_href=doc_href, volume_href=lambda volume, document: None)
        div = tei_div('<p><ref target="frus1958-60v17#d12">Doc 12</ref></p>')
        (span,) = tree(render_html(div, links=links)).xpath("//span[@class='ref ref-missing']")
        assert span.get("title") == "Document 12 of frus1958-60v17 is not in this edition"

    def test_an_upstream_link_is_external(self):
        links = Links(doc_href=doc_href, volume_href=lambda v, d: f"https://example.org/{v}")
        div = tei_div('<p><ref target="frus1958-60v17">XVII</ref></p>')
        assert tree(render_html(div, links=links)).xpath("//a")[0].get("rel") == "noopener"


# -- the edition's links, from the database ---------------------------------------------------

def add_unit(edition: Edition, xml_id: str, tei_xml: str, *, order: int) -> Document:
    document = Document.objects.create(edition=edition, xml_id=xml_id, order=order,
                                       title=xml_id, matter="front", div_type="section")
    document.current_revision = Revision.objects.create(document=document, number=1,
                                                        tei=tei_xml, summary="unit")
    document.save(update_fields=["current_revision"])
    return document


def front_matter_div(xml_id: str) -> str:
    root = etree.parse(str(FRONT_MATTER)).getroot()
    (div,) = root.xpath("//tei:div[@xml:id=$id]", namespaces={"tei": TEI_NS}, id=xml_id)
    return etree.tostring(div, encoding="unicode", with_tail=False)


def bump(edition: Edition) -> None:
    # What an import does when it changes the units.
    Edition.objects.filter(pk=edition.pk).update(contents_version=edition.contents_version + 1)
    edition.refresh_from_db()


def d142_html(edition: Edition) -> lxml.html.HtmlElement:
    revision = Document.objects.get(edition=edition, xml_id="d142").current_revision
    return tree(rendering.rendered_html(revision))


@pytest.mark.django_db
class TestEditionLinks:
    def test_missing_documents_go_upstream_when_the_edition_names_one(self, sample_edition):
        links = rendering.links_for(sample_edition)
        assert links.doc_href("d144") == "/frus1958-60v18/d144/"
        assert links.doc_href("d139") is None
        sample_edition.upstream_url = UPSTREAM
        links = rendering.links_for(sample_edition)
        assert links.doc_href("d139") == ("https://history.state.gov/historicaldocuments/"
                                          "frus1958-60v18/d139")

    def test_other_volumes_local_first_ignoring_case_then_upstream(self, sample_edition):
        other = Edition.objects.create(slug="frus1958-60v17", title="XVII", tei_header="",
                                       tei_skeleton="")
        add_unit(other, "d12", etree.tostring(tei_div("<p>x</p>", "d12"), encoding="unicode"),
                 order=1)
        links = rendering.links_for(sample_edition)
        assert links.volume_href("FRUS1958-60v17", "") == "/frus1958-60v17/"
        assert links.volume_href("frus1958-60v17", "d12") == "/frus1958-60v17/d12/"
        assert links.volume_href("frus1958-60v17", "d13") is None
        assert links.volume_href("frus1955-57v23", "") is None
        sample_edition.upstream_url = UPSTREAM
        links = rendering.links_for(sample_edition)
        assert links.volume_href("frus1958-60v17", "d13") == (
            "https://history.state.gov/historicaldocuments/frus1958-60v17/d13")
        # a whole volume upstream: no trailing slash
        assert links.volume_href("frus1955-57v23", "") == (
            "https://history.state.gov/historicaldocuments/frus1955-57v23")

    def test_names_link_to_the_persons_unit_once_there_is_one(self, sample_edition):
        assert not d142_html(sample_edition).xpath("//a[@class='persname']")
        add_unit(sample_edition, "persons", front_matter_div("persons"), order=900)
        add_unit(sample_edition, "terms", front_matter_div("terms"), order=901)
        bump(sample_edition)
        root = d142_html(sample_edition)
        herter = root.xpath("//a[@class='persname'][.='Herter']")[0]
        assert herter.get("href") == "/frus1958-60v18/persons/#p_HCAJ1"
        assert root.xpath("//a[@class='gloss']")[0].get("href") == "/frus1958-60v18/terms/#t_UN1"

    def test_the_cache_key_follows_upstream_url(self, sample_edition):
        assert d142_html(sample_edition).xpath("//span[@class='ref ref-missing']")
        Edition.objects.filter(pk=sample_edition.pk).update(upstream_url=UPSTREAM)
        sample_edition.refresh_from_db()
        root = d142_html(sample_edition)
        assert not root.xpath("//span[@class='ref ref-missing']")
        assert root.xpath("//a[@href='https://history.state.gov/historicaldocuments/"
                          "frus1958-60v18/d139']")

    def test_the_persons_page_lands_on_each_entry(self, client, sample_edition):
        add_unit(sample_edition, "persons", front_matter_div("persons"), order=900)
        bump(sample_edition)
        response = client.get("/frus1958-60v18/persons/")
        assert response.status_code == 200
        page = lxml.html.fromstring(response.content)
        assert page.xpath("//*[@id='p_HCAJ1']")[0].text_content().startswith("Herter")
