"""Property: whatever people do, every public page served from a cache is the page rendered now.

Random sequences of what users and the worker do — approvals of a text correction, of a heading,
of a unit's dates and of a footnote, reverts, open and rejected proposals, a correction of the
persons register, the admin's edits of the edition, a new unit, re-imports, an export build —
and after each step, every cached public page (edition/pagecache.py and the fast paths before
it; a signed-in reader's and an editor's page of a unit: edition/signedin.py, ownparts.py) is
compared with the page rendered from an emptied cache, the truth; and its ETag checked: a page
whose body changed never keeps its ETag, and a client's old copy is answered 304 only when it
is still the page.

Each example runs in a savepoint rolled back at its end, on one import of the sample volume
with front matter (its persons' entries are on every page that mentions them)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.core.cache import cache
from django.db import transaction
from django.test import Client, RequestFactory
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings as hsettings, strategies as st
from lxml import etree

from edition import pagecache, registers, rendering
from edition import pages as edition_pages
from edition.exporting import builds
from edition.imports import import_tei, import_text
from edition.models import Document, Edition
from edition.tei import XML_ID
from review.actions import ProposalError
from review.actions.approve import do_approve
from review.actions.decide import do_reject
from review.actions.propose import ChangeSpec, do_propose
from review.actions.revert import do_revert
from review.models import Change, Proposal, attributes_content
from tests.helpers import D143_TEXT, SAMPLES, make_member, signed_in

pytestmark = pytest.mark.django_db

SAMPLE = SAMPLES / "frus1958-60v18-with-front-matter.xml"
SLUG = "frus1958-60v18"
# The units whose every page is checked (the others: their reading page, anonymous): a chapter
# and its documents, the plain-text unit once imported, and the persons register.
CORE = ("comp1", "d142", "d143", "d144", "persons")
# A word of each unit that every change below leaves in place (a change adds to it).
WORDS = {"d142": "appreciation", "d144": "typhoons", "d143": "Peiping", "comp1": "Japan",
         "persons": "Officer in Charge", "preface": "documentary"}
HEADS = {"d142": "of Conversation", "d144": "of Conversation", "d143": "of Conversation"}
MIN, MAX = "frus:doc-dateTime-min", "frus:doc-dateTime-max"
# The CSRF token is masked anew for every page: the one part of a page that differs per request.
TOKENS = re.compile(r'(value="|"x-csrftoken": ")([A-Za-z0-9]{64})"')


@dataclass
class World:
    edition: Edition
    editor: object
    reviewer: object
    admin: object
    variants: dict
    diffs: set[str] = field(default_factory=set)
    count: int = 0

    def mark(self) -> str:
        """A word never written before: each change makes a text of its own."""
        self.count += 1
        return f"x{self.count}"

    def document(self, xml_id: str) -> Document | None:
        return (Document.objects.select_related("current_revision")
                .filter(edition=self.edition, xml_id=xml_id).first())


# --- What people do -------------------------------------------------------------------------

def _spec(revision, exact: str, replacement: str, *, kind: str = "text") -> ChangeSpec:
    start = revision.text.index(exact)
    return ChangeSpec(kind, start, start + len(exact), replacement, exact=exact)


def _approve(world: World, xml_id: str, specs_of) -> None:
    """Propose as the editor and approve as the reviewer, as the UI and the API do; a proposal
    the text no longer takes (refused, conflicted) changes nothing a reader sees."""
    document = world.document(xml_id)
    if document is None:
        return
    revision = document.current_revision
    try:
        changes = specs_of(revision)
    except ValueError:  # the words are gone (a re-import rewrote the heading): nothing to do
        return
    try:
        proposal = do_propose(document, author=world.editor, base_revision=revision.number,
                              changes=changes, rationale="As the source has it")
        applied = do_approve(proposal, by=world.reviewer)
    except ProposalError:
        return
    world.diffs.add(f"/{SLUG}/{xml_id}/diff/{applied.number - 1}/{applied.number}/")


def approve_text(world, xml_id):
    word = WORDS[xml_id]
    _approve(world, xml_id, lambda r: [_spec(r, word, f"{word} {world.mark()}")])


def approve_head(world, xml_id):
    # The heading's words (the first "of Conversation" is the head's): the unit's title.
    words = HEADS[xml_id]
    _approve(world, xml_id, lambda r: [_spec(r, words, f"{words} {world.mark()}")])


def approve_dates(world, xml_id, month):
    dates = {MIN: f"1960-{month:02d}-19T10:00:00-05:00",
             MAX: f"1960-{month:02d}-19T11:00:00-05:00"}
    _approve(world, xml_id, lambda r: [
        ChangeSpec(Change.Kind.METADATA, 0, 0, attributes_content(dates))])


def approve_footnote(world, xml_id):
    word = WORDS[xml_id]

    def specs(revision):
        point = revision.text.index(word) + len(word)
        return [ChangeSpec(Change.Kind.NOTE_ADD, point, point,
                           f"An editorial note {world.mark()}.")]
    _approve(world, xml_id, specs)


def approve_persons_entry(world):
    # Sneider's entry: d142 and d144 mention him (their pages embed the entry).
    def specs(revision):
        start = revision.text.index("Officer in Charge", revision.text.index("Sneider"))
        exact = "Officer in Charge"
        return [ChangeSpec("text", start, start + len(exact), f"{exact} {world.mark()}",
                           exact=exact)]
    _approve(world, "persons", specs)


def revert_newest(world, xml_id):
    document = world.document(xml_id)
    if document is None or document.current_revision.number == 1:
        return
    newest = document.current_revision
    try:
        proposal = do_revert(document, newest, by=world.editor, reason="Not in the source")
        applied = do_approve(proposal, by=world.reviewer)
    except ProposalError:
        return
    world.diffs.add(f"/{SLUG}/{xml_id}/diff/{newest.number}/{applied.number}/")


def propose_only(world, xml_id):
    """Left open: the editor's page lists it (their own parts)."""
    document = world.document(xml_id)
    if document is None:
        return
    revision = document.current_revision
    word = WORDS[xml_id]
    try:
        do_propose(document, author=world.editor, base_revision=revision.number,
                   changes=[_spec(revision, word, f"{word} {world.mark()}")],
                   rationale="Perhaps")
    except ProposalError:
        pass


def reject_oldest(world):
    proposal = (Proposal.objects.filter(document__edition=world.edition,
                                        status=Proposal.Status.PENDING).order_by("pk").first())
    if proposal is not None:
        do_reject(proposal, by=world.reviewer, reason="Not in the source")


def edit_edition(world, name, value):
    """As the admin's change form saves it (EditionAdmin.save_model)."""
    edition = Edition.objects.get(pk=world.edition.pk)
    setattr(edition, name, value)
    request = RequestFactory().post("/admin/")
    request.user = world.admin
    admin.site._registry[Edition].save_model(
        request, edition, SimpleNamespace(changed_data=[name]), True)


def import_new_unit(world):
    if world.document("d143") is None:
        import_text(D143_TEXT, edition=Edition.objects.get(pk=world.edition.pk))


def reimport(world, variant):
    import_tei(world.variants[variant], update=True)


def page_images(world, pattern):
    """The admin sets (or clears) the address pattern of the page images; the page rows
    follow when the worker syncs them (the next action)."""
    edit_edition(world, "facsimile_url", pattern)


def sync_pages(world):
    """The worker's `tasks.sync_pages`, later than the change that queued it."""
    edition_pages.sync(Edition.objects.get(pk=world.edition.pk))


def build_exports(world):
    builds.request_export(world.edition, "test")
    builds.run(world.edition.pk)


ACTIONS = {
    "text": approve_text, "head": approve_head, "dates": approve_dates,
    "footnote": approve_footnote, "persons": approve_persons_entry, "revert": revert_newest,
    "propose": propose_only, "reject": reject_oldest, "admin": edit_edition,
    "new unit": import_new_unit, "reimport": reimport, "exports": build_exports,
    "page images": page_images, "sync": sync_pages,
}
EDITED = st.sampled_from(sorted(WORDS))
DATED = st.sampled_from(sorted(HEADS))
STEP = st.one_of(
    st.tuples(st.just("text"), EDITED),
    st.tuples(st.just("head"), DATED),
    st.tuples(st.just("dates"), DATED, st.integers(1, 12)),
    st.tuples(st.just("footnote"), EDITED),
    st.tuples(st.just("persons")),
    st.tuples(st.just("revert"), EDITED),
    st.tuples(st.just("propose"), EDITED),
    st.tuples(st.just("reject")),
    st.tuples(st.just("admin"), st.just("title"), st.sampled_from(["Japan; Korea", "Japan"])),
    st.tuples(st.just("admin"), st.just("volume_title"), st.sampled_from(["Japan", "Korea"])),
    st.tuples(st.just("admin"), st.just("upstream_url"), st.sampled_from([
        "", "https://history.state.gov/historicaldocuments/{volume}/{document}"])),
    st.tuples(st.just("new unit")),
    st.tuples(st.just("reimport"), st.sampled_from(["as is", "retitled", "moved"])),
    st.tuples(st.just("exports")),
    st.tuples(st.just("page images"), st.sampled_from([
        "", "https://images.example.org/{volume}/{facs}.png"])),
    st.tuples(st.just("sync")),
)


# --- The sample's re-imports ----------------------------------------------------------------

def _retitled(tei: str) -> str:
    """d144 and the compilation under other headings (their titles)."""
    changed = tei.replace("<head>144. Memorandum of Conversation", "<head>144. Cable of Record",
                          1).replace("<head>Japan</head>", "<head>Japan, Korea</head>", 1)
    assert changed.count("Cable of Record") == changed.count("<head>Japan, Korea") == 1
    return changed


def _moved(tei: str) -> str:
    """d144 out of its compilation, after it: its own TEI unchanged, its place not."""
    root = etree.fromstring(tei.encode())
    d144 = next(d for d in root.iter("{*}div") if d.get(XML_ID) == "d144")
    compilation = d144.getparent()
    compilation.addnext(d144)
    return etree.tostring(root, encoding="unicode")


@pytest.fixture
def variants(tmp_path) -> dict:
    tei = SAMPLE.read_text()
    paths = {}
    for name, made in (("as is", tei), ("retitled", _retitled(tei)), ("moved", _moved(tei))):
        paths[name] = tmp_path / f"{name.replace(' ', '-')}.xml"
        paths[name].write_text(made)
    return paths


# --- The pages, cached and rendered now -----------------------------------------------------

@dataclass(frozen=True)
class Page:
    status: int
    etag: str
    last_modified: str
    body: str


def page(response) -> Page:
    return Page(response.status_code, response.get("ETag", ""),
                response.get("Last-Modified", ""),
                TOKENS.sub(r'\1TOKEN"', response.content.decode()))


def pages(world: World) -> list[tuple[str, str]]:
    """(reader, address) of every page to check now."""
    units = list(world.edition.documents.order_by("order").values_list("xml_id", flat=True))
    core = [u for u in units if u in CORE]
    anonymous = [f"/{SLUG}/{u}/" for u in units] + [
        address for u in core for address in (
            f"/{SLUG}/{u}/history/", f"/{SLUG}/{u}/corrections/",
            f"/api/editions/{SLUG}/documents/{u}/")
    ] + [f"/{SLUG}/", f"/{SLUG}/corrections/", f"/{SLUG}/exports/",
         f"/api/editions/{SLUG}/documents/d142/?revision=1", *sorted(world.diffs)]
    signed = [f"/{SLUG}/{u}/" for u in core]
    return ([("anonymous", a) for a in anonymous] + [("stranger", a) for a in signed]
            + [("editor", a) for a in signed])


def forget_every_cache() -> None:
    """What a page read from the database alone needs: no page, stamp, fragment or route kept
    anywhere (the in-process memos too)."""
    cache.clear()
    pagecache.forget_routes()
    rendering._unit_ids.cache_clear()
    registers._unit_entries.cache_clear()
    registers._skeleton_entries.cache_clear()


class Etags:
    """Every page seen in an example by reader, address and ETag: one ETag, one page."""

    def __init__(self) -> None:
        self.pages: dict[tuple[str, str, str], str] = {}

    def check(self, who: str, address: str, seen: Page, when) -> None:
        known = self.pages.setdefault((who, address, seen.etag), seen.body)
        assert known == seen.body, f"{when}: {who} {address}: another page under ETag {seen.etag}"


def render_now(readers, world) -> dict:
    """Every page rendered from an emptied cache, then read again twice, as readers would:
    from the cache (which the fast paths learn) and revalidated (a 304 they learn too)."""
    forget_every_cache()
    fresh = {}
    for who, address in pages(world):
        client = readers[who]
        now = fresh[who, address] = page(client.get(address))
        assert now.status == 200, (who, address, now.body[:300])
        assert page(client.get(address)) == now, f"{who} {address}: the stored page differs"
        assert client.get(address, HTTP_IF_NONE_MATCH=now.etag).status_code == 304
    return fresh


def check_cached(readers, world, seen: dict, etags: Etags, step) -> dict:
    """Every page as served after `step` (from whatever the caches kept), and a client's copy
    from before it revalidated, against the pages rendered now. (A cached page's ETag may
    differ from the one rendered now for the same page: a stamp stands for more changes than
    the page shows, and the value cached is older than the database's. Never the reverse.)"""
    when = f"after {step}"
    served, revalidated = {}, {}
    for who, address in pages(world):
        client = readers[who]
        before = seen.get((who, address))
        if before is not None:
            revalidated[who, address] = [client.get(address, HTTP_IF_NONE_MATCH=before.etag)]
            # A shared cache that revalidates by time alone: the anonymous pages it may keep
            # (a signed-in reader's are private: their browser sends the ETag, which wins).
            if who == "anonymous" and before.last_modified:
                revalidated[who, address].append(
                    client.get(address, HTTP_IF_MODIFIED_SINCE=before.last_modified))
        served[who, address] = page(client.get(address))
    fresh = render_now(readers, world)
    for key, now in fresh.items():
        who, address = key
        cached = served[key]
        assert cached.status == now.status and cached.body == now.body, (
            f"{when}: {who} {address} is stale")
        for answer in revalidated.get(key, ()):
            asked = "If-Modified-Since" if "HTTP_IF_MODIFIED_SINCE" in answer.wsgi_request.META \
                else "If-None-Match"
            if answer.status_code == 304:  # the client keeps its copy: it must be the page
                assert seen[key].body == now.body, (
                    f"{when}: {who} {address}: 304 to an old copy ({asked})")
            else:
                assert answer.status_code == 200 and page(answer).body == now.body, (
                    f"{when}: {who} {address}: an old copy revalidated ({asked})")
        etags.check(who, address, cached, when)
        etags.check(who, address, now, when)
    return fresh


class Clock:
    """The time the models read (`timezone.now`), moved on two seconds before each step: a page
    changed by a step has a Last-Modified of its own, as between two people's requests (HTTP
    dates count whole seconds; the steps here take milliseconds)."""

    def __init__(self) -> None:
        self.real, self.ahead = timezone.now, timedelta()

    def now(self):
        return self.real() + self.ahead

    def tick(self) -> None:
        self.ahead += timedelta(seconds=2)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    made = Clock()
    monkeypatch.setattr(timezone, "now", made.now)
    return made


@pytest.fixture
def world(db, variants, settings) -> World:
    settings.EMEND_EXPORT_FORMATS = ["tei"]  # one build group, quick
    edition = import_tei(SAMPLE).edition
    return World(edition, make_member(edition, "editor", "editor"),
                 make_member(edition, "reviewer", "reviewer"),
                 make_member(edition, "admin", "admin", is_staff=True, is_superuser=True),
                 variants)


@pytest.fixture
def readers(world) -> dict:
    return {"anonymous": Client(), "editor": signed_in(world.editor),
            "stranger": signed_in(make_member(world.edition, "stranger", None))}


# Ten drawn examples beside the explicit ones (fifteen took 89 s of CI's run, on PostgreSQL
# and Redis): longer explorations (150 examples of up to 8 steps) found nothing more.
@hsettings(max_examples=10, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# What it found: the API's payload of a unit moved by a re-import named its old parent; a diff
# kept its validators when a re-import renamed its unit or the admin retitled the edition.
@example(steps=[("reimport", "moved")])
@example(steps=[("text", "comp1"), ("reimport", "retitled")])
@example(steps=[("text", "d142"), ("admin", "volume_title", "Korea")])
# A panel of page images comes and goes with the address pattern, under Last-Modified's eye.
@example(steps=[("page images", "https://images.example.org/{volume}/{facs}.png"), ("sync",),
                ("text", "d144"), ("page images", ""), ("sync",)])
@given(steps=st.lists(STEP, min_size=1, max_size=5))
def test_every_cached_page_is_the_page_rendered_now(world, readers, clock, steps):
    with transaction.atomic():  # each example from the same imported volume
        world.diffs, world.count = set(), 0
        etags = Etags()
        seen = render_now(readers, world)
        for (who, address), now in seen.items():
            etags.check(who, address, now, "at first")
        for step in steps:
            name, *args = step
            clock.tick()
            ACTIONS[name](world, *args)
            seen = check_cached(readers, world, seen, etags, step)
        transaction.set_rollback(True)
