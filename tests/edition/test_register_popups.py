"""The registers read from the persons and terms units (edition/registers.py), and the reading
view's popups: `{% register_entries %}` embeds the entries a document mentions, and
edition/static/edition/registers.js shows them on hover and focus."""

from __future__ import annotations

import json

import lxml.html
import pytest
from django.template import Context, Template
from lxml import etree

from edition import registers
from edition.imports import import_tei
from edition.models import Document, Edition, Revision
from edition.tei import TEI_NS
from tests.browser import chromium_page
from tests.helpers import EXCERPT, SAMPLES

FRONT_MATTER = SAMPLES / "frus1958-60v18-with-front-matter.xml"
URL = "/frus1958-60v18/d142/"


def front_matter_div(xml_id: str) -> str:
    root = etree.parse(str(FRONT_MATTER)).getroot()
    (div,) = root.xpath("//tei:div[@xml:id=$id]", namespaces={"tei": TEI_NS}, id=xml_id)
    return etree.tostring(div, encoding="unicode", with_tail=False)


def add_registers(edition: Edition) -> dict[str, Document]:
    """The persons and terms units, as an import of the whole volume makes them."""
    units = {}
    for order, xml_id in enumerate(("persons", "terms"), start=900):
        unit = Document.objects.create(edition=edition, xml_id=xml_id, order=order, title=xml_id,
                                       matter="front", div_type="section")
        unit.current_revision = Revision.objects.create(
            document=unit, number=1, tei=front_matter_div(xml_id), summary="import")
        unit.save(update_fields=["current_revision"])
        units[xml_id] = unit
    Edition.objects.filter(pk=edition.pk).update(contents_version=edition.contents_version + 1)
    edition.refresh_from_db()
    return units


def embedded(response) -> dict:
    page = lxml.html.fromstring(response.content)
    (data,) = page.xpath("//script[@id='register-entries']")
    assert data.get("type") == "application/json"
    return json.loads(data.text)


@pytest.mark.django_db
class TestRegisters:
    def test_entries_come_from_the_units(self, sample_edition):
        assert registers.entries(sample_edition, "persons") == ()  # the excerpt has no lists
        add_registers(sample_edition)
        kishi = next(e for e in registers.entries(sample_edition, "persons") if e.id == "p_KN1")
        assert kishi.name.startswith("Kishi, Nobusuke")
        assert (kishi.element, kishi.attribute) == ("persName", "corresp")
        un = next(e for e in registers.entries(sample_edition, "terms") if e.id == "t_UN1")
        assert (un.name, un.description) == ("UN", "United Nations")

    def test_a_correction_to_the_list_shows_up(self, sample_edition):
        persons = add_registers(sample_edition)["persons"]
        tei_xml = persons.current_revision.tei.replace("Japanese Prime Minister",
                                                       "Prime Minister of Japan")
        persons.add_revision(tei_xml, by=None, summary="fix")
        kishi = next(e for e in registers.entries(sample_edition, "persons") if e.id == "p_KN1")
        assert "Prime Minister of Japan" in kishi.description

    def test_without_units_the_skeleton_is_read(self, sample_edition):
        skeleton = etree.tostring(etree.parse(str(FRONT_MATTER)), encoding="unicode")
        Edition.objects.filter(pk=sample_edition.pk).update(tei_skeleton=skeleton)
        sample_edition.refresh_from_db()
        assert any(e.id == "p_KN1" for e in registers.entries(sample_edition, "persons"))

    def test_mentioned_lists_only_what_the_document_names(self, sample_edition):
        add_registers(sample_edition)
        d142 = Document.objects.get(edition=sample_edition, xml_id="d142")
        found = {e.id for e in registers.mentioned(sample_edition, d142.current_revision.element)}
        assert {"p_HCAJ1", "t_UN1"} <= found
        assert "p_ADG2" not in found  # Acheson is in the list, not in d142

    def test_mentioned_reads_both_units_in_one_query(self, sample_edition,
                                                     django_assert_num_queries):
        add_registers(sample_edition)
        d142 = Document.objects.get(edition=sample_edition, xml_id="d142")
        element = d142.current_revision.element
        registers.mentioned(sample_edition, element)  # the units' entries parsed and kept
        with django_assert_num_queries(1):  # every render of a page asks
            found = registers.mentioned(sample_edition, element)
        # The same entries, in the same order, as each register read on its own.
        assert found == [e for register in ("persons", "terms")
                         for e in registers.entries(sample_edition, register)
                         if e.id in {x.id for x in found}]
        assert {e.element for e in found} == {"persName", "term"}

    def test_mentioned_mixes_a_unit_and_the_skeleton(self, sample_edition):
        # Terms from the skeleton (an older import), persons from their unit.
        skeleton = etree.tostring(etree.parse(str(FRONT_MATTER)), encoding="unicode")
        Edition.objects.filter(pk=sample_edition.pk).update(tei_skeleton=skeleton)
        sample_edition.refresh_from_db()
        add_registers(sample_edition)
        # A unit without a current revision is no register: its entries come from the skeleton.
        Document.objects.filter(edition=sample_edition, xml_id="terms").update(
            current_revision=None)
        d142 = Document.objects.get(edition=sample_edition, xml_id="d142")
        found = {e.id for e in registers.mentioned(sample_edition, d142.current_revision.element)}
        assert {"p_HCAJ1", "t_UN1"} <= found
        assert registers.entries(sample_edition, "terms")  # read from the skeleton


@pytest.mark.django_db
class TestEmbeddedEntries:
    def test_the_page_embeds_the_entries_it_mentions(self, client, sample_edition):
        add_registers(sample_edition)
        response = client.get(URL)
        entries = embedded(response)
        assert entries["p_HCAJ1"]["name"] == "Herter, Christian A."
        assert entries["p_HCAJ1"]["description"].startswith("Under Secretary of State")
        assert "p_ADG2" not in entries
        page = lxml.html.fromstring(response.content)
        linked = {a.get("data-entry") for a in page.xpath("//article//a[@data-entry]")}
        assert linked <= set(entries)

    def test_no_inline_script_nor_handler(self, client, sample_edition):
        add_registers(sample_edition)
        page = lxml.html.fromstring(client.get(URL).content)
        assert page.xpath("//script[@src='/static/edition/registers.js'][@defer]")
        for script in page.xpath("//script[not(@src)]"):
            assert script.get("type") == "application/json"
        assert not page.xpath("//@*[starts-with(name(), 'on')]")

    def test_nothing_embedded_without_registers(self, client, sample_edition):
        page = lxml.html.fromstring(client.get(URL).content)
        assert not page.xpath("//script[@id='register-entries']")

    def test_the_tag_escapes_what_ends_a_script(self, sample_edition):
        persons = add_registers(sample_edition)["persons"]
        persons.add_revision(persons.current_revision.tei.replace(
            "Japanese Prime Minister", "&lt;/script&gt;&lt;script&gt;alert(1)"), by=None, summary="x")
        d142 = Document.objects.get(edition=sample_edition, xml_id="d142")
        d142.current_revision.document = d142
        html = Template("{% load edition_registers %}{% register_entries revision %}").render(
            Context({"revision": d142.current_revision}))
        assert html.count("</script>") == 1 and "<script>alert" not in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_popup_on_hover_and_focus_at_phone_width(live_server):
    edition = import_tei(EXCERPT).edition
    add_registers(edition)
    with chromium_page() as page:
        page.set_viewport_size({"width": 390, "height": 800})
        page.goto(f"{live_server.url}{URL}")
        name = page.locator("a.persname[data-entry='p_HCAJ1']").first
        popup = page.locator("#register-popup")
        assert popup.get_attribute("role") == "tooltip"
        assert popup.is_hidden()

        name.hover()
        popup.wait_for(state="visible")
        assert popup.inner_text().startswith("Herter, Christian A.")
        assert name.get_attribute("aria-describedby") == "register-popup"
        box = popup.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        page.mouse.move(1, 790)  # away from both
        popup.wait_for(state="hidden")
        assert name.get_attribute("aria-describedby") is None

        name.focus()
        popup.wait_for(state="visible")
        page.keyboard.press("Escape")
        popup.wait_for(state="hidden")

        # Following the link lands on the entry of the List of Persons.
        href = name.get_attribute("href")
        assert href == "/frus1958-60v18/persons/#p_HCAJ1"
        page.goto(f"{live_server.url}{href}")
        assert page.evaluate("document.querySelector(':target').textContent").startswith("Herter")


@pytest.mark.django_db
def test_a_correction_to_the_list_retires_every_cached_page(client, sample_edition):
    """The page cache keys a document's page by its own revision; the popups' entries come from
    another unit, so a correction there retires every page (edition/pagecache.py)."""
    persons = add_registers(sample_edition)["persons"]
    before = embedded(client.get(URL))
    assert "Under Secretary of State" in before["p_HCAJ1"]["description"]
    persons.add_revision(persons.current_revision.tei.replace(
        "Under Secretary of State", "Under-Secretary of State"), by=None, summary="fix")
    after = embedded(client.get(URL))
    assert after["p_HCAJ1"]["description"].startswith("Under-Secretary of State")


def test_the_register_units_are_the_ones_models_retire_pages_for():
    from edition.models import REGISTER_UNITS

    assert REGISTER_UNITS == {div for div, _, _ in registers.REGISTERS.values()}
