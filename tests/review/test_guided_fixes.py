"""Guided structural fixes: the TEI each repair writes, and the pages that propose them."""

import re
from datetime import date, time

import pytest
from lxml import etree, html

from edition.models import Document
from edition.tei import guided, tei
from edition.tei.textlayer import build, text_of
from review.actions.approve import do_approve
from review.models import Change, Proposal
from tests.helpers import sample_document

EDITION = "frus1958-60v18"
URL = "/frus1958-60v18/{}/fix/{}/"


def squashed(xml: str) -> str:
    return " ".join(xml.split())


def sample_xml(element) -> str:
    xml = etree.tostring(element, encoding="unicode", with_tail=False)
    return squashed(re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", xml))


# -- the TEI of each repair ---------------------------------------------------------------


def test_dateline_is_the_samples_markup():
    opener = sample_document("d142").find(tei("opener"))
    written = guided.dateline("Washington", date(1960, 1, 19), time(15, 30), time(17, 30),
                              utc_offset="-05:00")
    assert written == sample_xml(opener).replace("</date> </dateline>", "</date></dateline>")


def test_dateline_of_a_day_uses_when_and_an_instant_too():
    assert '<date when="1960-01-19" ' in guided.dateline("Tokyo", date(1960, 1, 19))
    one = guided.dateline("Tokyo", date(1960, 1, 19), time(10, 0), utc_offset="+09:00")
    assert 'when="1960-01-19T10:00:00+09:00"' in one and ">January 19, 1960, 10 a.m.<" in one


def test_written_date_keeps_each_meridiem_when_they_differ():
    assert guided.written_date(date(1960, 1, 19), time(11, 30), time(12, 15)) == (
        "January 19, 1960, 11:30 a.m.–12:15 p.m.")
    assert guided.written_date(date(1960, 1, 19), time(12, 0)) == "January 19, 1960, noon"


@pytest.mark.parametrize("kwargs, message", [
    ({"place": " "}, "place"),
    ({"start": time(15, 30)}, "UTC offset"),
    ({"start": time(15, 30), "end": time(15, 0), "utc_offset": "-05:00"}, "after the start"),
])
def test_dateline_refuses_what_cannot_be_written(kwargs, message):
    args = {"place": "Tokyo", "day": date(1960, 1, 19), **kwargs}
    with pytest.raises(guided.GuidedError, match=message):
        guided.dateline(args.pop("place"), args.pop("day"), args.get("start"), args.get("end"),
                        utc_offset=args.get("utc_offset", ""))


def test_lists_are_the_samples_markup_one_item_a_line_escaped():
    subject = sample_document("d142").find(tei("list"))
    assert guided.heading_list("subject", ["Problems Relating to the Republic of Korea"]) == (
        sample_xml(subject).replace("> <", "><"))
    written = guided.heading_list("participants", guided.lines_of(
        "Prime Minister Kishi\n\n  Secretary   Herter \nA <b> & C"))
    assert written == ('<list type="participants"><head>PARTICIPANTS</head>'
                       "<item>Prime Minister Kishi</item><item>Secretary Herter</item>"
                       "<item>A &lt;b&gt; &amp; C</item></list>")


def test_closer_and_page_break():
    assert guided.closer("Herter", "Sincerely,") == (
        "<closer><salute>Sincerely,</salute><signed>Herter</signed></closer>")
    assert guided.page_break("277", "0307") == '<pb n="277" xml:id="pg_277" facs="0307"/>'
    with pytest.raises(guided.GuidedError):
        guided.page_break('2"7', "0307")


def _paragraphs(xml_id="d142"):
    return [c for c in sample_document(xml_id) if c.tag == tei("p")]


def _parse(fragment: str):
    wrapped = f'<w xmlns="http://www.tei-c.org/ns/1.0">{fragment}</w>'
    return list(etree.fromstring(wrapped))


def test_split_keeps_the_words_and_the_markup():
    first = _paragraphs()[0]
    text = build(first).text
    cut = text.index("He mentioned")
    a, b = _parse(guided.split_paragraph(first, cut))
    assert text_of(a) == text[:cut].rstrip() and text_of(b) == text[cut:]
    assert b.find(tei("note")) is not None and a.find(tei("persName")) is not None


def test_split_at_a_page_break_begins_the_new_paragraph_with_it():
    first = _paragraphs()[0]
    text = build(first).text
    cut = text.index("for the restrained")
    a, b = _parse(guided.split_paragraph(first, cut))
    assert a.find(tei("pb")) is None and b[0].tag == tei("pb") and not (b.text or "").strip()
    assert text_of(a) == text[:cut].rstrip() and text_of(b) == text[cut:]


def test_merge_joins_with_one_space():
    one, two = _paragraphs()[:2]
    (merged,) = _parse(guided.merge_paragraphs(one, two))
    assert text_of(merged) == text_of(one) + " " + text_of(two)


def test_page_break_inside_a_paragraph_follows_the_words():
    second = _paragraphs()[1]
    text = build(second).text
    offset = text.index("Foreign Minister") + len("Foreign")
    (block,) = _parse(guided.with_page_break(second, offset, "9", "0009"))
    assert text_of(block) == text
    pb = block.find(tei("pb"))
    assert pb.get("n") == "9" and (block.text or "").endswith("Foreign")


# -- the pages ----------------------------------------------------------------------------


def doc(xml_id: str) -> Document:
    return Document.objects.select_related("current_revision").get(
        edition__slug=EDITION, xml_id=xml_id)


def page(response):
    return html.fromstring(response.content)


@pytest.mark.django_db
@pytest.mark.parametrize("repair", ["dateline", "subject", "participants", "closer",
                                    "page-break", "split", "merge"])
@pytest.mark.parametrize("who", ["editor", "reviewer", "admin"])
def test_members_who_may_propose_get_each_page(client, sample_volume, people, repair, who):
    client.force_login(getattr(people, who))
    response = client.get(URL.format("d142", repair))
    assert response.status_code == 200
    assert page(response).xpath("//button[@value='preview']")


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_stranger_gets_404(client, sample_volume, people, method):
    client.force_login(people.stranger)
    response = getattr(client, method)(URL.format("d142", "dateline"),
                                       {"action": "propose", "place": "X", "day": "1960-01-19",
                                        "rationale": "r"})
    assert response.status_code == 404 and not Proposal.objects.exists()


@pytest.mark.django_db
def test_unknown_repair_is_404(client, sample_volume, people):
    client.force_login(people.editor)
    assert client.get(URL.format("d142", "nothing")).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, sample_edition):
    response = client.get(URL.format("d142", "dateline"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_reading_view_links_the_guided_fixes_for_proposers(client, sample_volume, people):
    client.force_login(people.editor)
    response = client.get(f"/{EDITION}/d143/")
    assert URL.format("d143", "participants").encode() in response.content


DATELINE = {"place": "Tokyo", "day": "1960-01-19", "start": "", "end": "", "utc_offset": "",
            "written": ""}


@pytest.mark.django_db
def test_preview_shows_the_result_and_creates_nothing(client, sample_volume, people):
    client.force_login(people.editor)
    response = client.post(URL.format("d143", "dateline"), {**DATELINE, "action": "preview"})
    assert response.status_code == 200
    rendered = page(response).xpath("//div[@class='fix-rendered']")[0].text_content()
    assert "Tokyo, January 19, 1960" in " ".join(rendered.split())
    assert not Proposal.objects.exists()


@pytest.mark.django_db
def test_errors_are_announced_and_nothing_is_created(client, sample_volume, people):
    client.force_login(people.editor)
    response = client.post(URL.format("d143", "dateline"),
                           {**DATELINE, "start": "15:30", "action": "preview"})
    assert response.status_code == 400
    assert "UTC offset" in page(response).xpath("//*[@role='alert']")[0].text_content()
    response = client.post(URL.format("d143", "dateline"), {**DATELINE, "action": "propose"})
    assert response.status_code == 400
    assert page(response).xpath("//p[@role='alert' and contains(., 'rationale')]")
    assert not Proposal.objects.exists()


def propose_and_approve(client, people, xml_id, repair, data) -> Document:
    client.force_login(people.editor)
    response = client.post(URL.format(xml_id, repair),
                           {**data, "action": "propose", "rationale": "Guided fix"})
    if response.status_code != 302:
        alerts = page(response).xpath("//*[@role='alert']")
        pytest.fail(" ".join(" ".join(e.text_content().split()) for e in alerts))
    (proposal,) = Proposal.objects.filter(status=Proposal.Status.PENDING)
    (change,) = proposal.changes.all()
    assert change.kind == Change.Kind.STRUCTURE
    assert do_approve(proposal, by=people.reviewer) is not None
    return doc(xml_id)


@pytest.mark.django_db
def test_d143_gets_its_dateline_and_participants(client, sample_volume, people):
    document = propose_and_approve(client, people, "d143", "dateline", DATELINE)
    div = document.current_revision.element
    opener = div.find(tei("opener"))
    assert squashed(etree.tostring(opener, encoding="unicode")).endswith(
        '<date when="1960-01-19" type="conversation-or-meeting-date" calendar="gregorian">'
        "January 19, 1960</date></dateline></opener>")
    assert [c.tag for c in div if isinstance(c.tag, str)][:2] == [tei("head"), tei("opener")]

    entries = "[Here follows the same list as Document 139.]"
    document = propose_and_approve(client, people, "d143", "participants", {"entries": entries})
    div = document.current_revision.element
    (participants,) = [x for x in div.iter(tei("list")) if x.get("type") == "participants"]
    assert [text_of(i) for i in participants.findall(tei("item"))] == [entries]
    names = [(c.tag, c.get("type")) for c in div if isinstance(c.tag, str)][:4]
    assert names == [(tei("head"), None), (tei("opener"), None), (tei("list"), "subject"),
                     (tei("list"), "participants")]


@pytest.mark.django_db
def test_split_then_merge_a_paragraph_of_d142(client, sample_volume, people):
    before = doc("d142").current_revision
    text = before.text
    paragraphs = [c for c in before.element if c.tag == tei("p")]
    first_start = text.index("The Prime Minister expressed the appreciation")
    document = propose_and_approve(client, people, "d142", "split", {
        "paragraph": str(first_start), "before": "He mentioned that the Department"})
    after = document.current_revision
    assert after.text == text.replace(" He mentioned that the Department",
                                      "\n\nHe mentioned that the Department")
    assert len([c for c in after.element if c.tag == tei("p")]) == len(paragraphs) + 1

    document = propose_and_approve(client, people, "d142", "merge",
                                   {"paragraph": str(first_start)})
    assert document.current_revision.text == text


@pytest.mark.django_db
def test_page_break_between_blocks_stands_on_its_own(client, sample_volume, people):
    document = propose_and_approve(client, people, "d143", "page-break", {
        "number": "999", "facs": "0999", "after": "Relations With Communist China"})
    pb = document.current_revision.element.find(f"{tei('pb')}[@n='999']")
    assert pb is not None and pb.get("facs") == "0999"
    assert pb.get("{http://www.w3.org/XML/1998/namespace}id") == "pg_999"


@pytest.mark.django_db
def test_page_break_inside_a_paragraph(client, sample_volume, people):
    text = doc("d143").current_revision.text
    document = propose_and_approve(client, people, "d143", "page-break", {
        "number": "998", "facs": "0998", "after": "Kishi raised the question"})
    revision = document.current_revision
    pb = revision.element.find(f".//{tei('pb')}[@n='998']")
    assert pb.getparent().tag == tei("p") and (pb.tail or "").startswith(" of relations")
    assert revision.text == text


@pytest.mark.django_db
def test_a_page_that_exists_is_refused(client, sample_volume, people):
    client.force_login(people.editor)
    response = client.post(URL.format("d143", "page-break"), {
        "number": "278", "facs": "0308", "after": "Kishi raised the question",
        "action": "preview"})
    assert response.status_code == 400
    assert "pg_278" in page(response).xpath("//*[@role='alert']")[0].text_content()


@pytest.mark.django_db
def test_ambiguous_words_are_refused(client, sample_volume, people):
    client.force_login(people.editor)
    response = client.post(URL.format("d143", "page-break"), {
        "number": "998", "facs": "0998", "after": "the", "action": "preview"})
    assert response.status_code == 400
    assert "times" in page(response).xpath("//*[@role='alert']")[0].text_content()


@pytest.mark.django_db
def test_closer_goes_at_the_end(client, sample_volume, people):
    document = propose_and_approve(client, people, "d142", "closer", {"signed": "Herter"})
    last = [c for c in document.current_revision.element if isinstance(c.tag, str)][-1]
    assert last.tag == tei("closer") and text_of(last) == "Herter"


@pytest.mark.django_db
def test_dateline_form_starts_from_the_documents_dateline(client, sample_volume, people):
    client.force_login(people.editor)
    form = page(client.get(URL.format("d142", "dateline")))
    values = {name: form.xpath(f"//input[@name='{name}']/@value") for name in
              ("place", "day", "start", "end", "utc_offset")}
    assert values == {"place": ["Washington"], "day": ["1960-01-19"], "start": ["15:30"],
                      "end": ["17:30"], "utc_offset": ["-05:00"]}
    assert form.xpath("//div[@class='fix-field'][last()]//textarea/@name") == ["rationale"]


@pytest.mark.django_db
def test_a_dateline_in_place_of_a_paragraph_after_the_lists_is_refused_with_the_reason(
        client, sample_volume, people):
    # TEI puts a dateline before the content: in place of d143's first paragraph (after its
    # SUBJECT and PARTICIPANTS lists) it would not be valid, and the gate says so at once.
    before = doc("d143").current_revision
    paragraphs = [c for c in before.element if c.tag == tei("p")]
    start = before.text.index(text_of(paragraphs[0]))
    client.force_login(people.editor)
    response = client.post(URL.format("d143", "dateline"), {
        **DATELINE, "paragraph": str(start), "action": "propose", "rationale": "Guided fix"})
    assert response.status_code == 400
    alerts = " ".join(e.text_content() for e in page(response).xpath("//*[@role='alert']"))
    assert "not valid TEI" in alerts and "opener" in alerts
    assert not Proposal.objects.exists()


@pytest.mark.django_db
def test_every_guided_fix_leaves_valid_tei(client, sample_volume, people, tei_all):
    from edition.exporting.tei import document_tei
    from edition.tei import FRUS_NS

    fixes = [
        ("dateline", {**DATELINE, "start": "10:00", "end": "11:15", "utc_offset": "+09:00"}),
        ("participants", {"entries": "Prime Minister Kishi\nSecretary Herter"}),
        ("page-break", {"number": "777", "facs": "0777", "after": "Kishi raised the question"}),
        ("closer", {"signed": "Herter", "salute": ""}),
    ]
    for repair, data in fixes:
        document = propose_and_approve(client, people, "d143", repair, data)
    start = document.current_revision.text.index("Mr. Kishi pointed out")
    document = propose_and_approve(client, people, "d143", "split", {
        "paragraph": str(start), "before": "Japan would like"})
    document = propose_and_approve(client, people, "d143", "merge", {"paragraph": str(start)})
    exported = etree.fromstring(document_tei(document.edition, document.current_revision))
    for element in exported.iter():
        for name in [a for a in element.attrib if a.startswith(f"{{{FRUS_NS}}}")]:
            del element.attrib[name]
    assert tei_all.validate(exported), tei_all.error_log
