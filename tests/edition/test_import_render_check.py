"""A volume's import checks the TEI of each unit in its transaction and leaves the rendering half
of the gate to the worker after the commit (edition/gate.py `check_rendering`): its pieces are
kept for the builds as the import's gate kept them, and a unit that cannot be rendered becomes a
"render" suggestion the report points at. A small import still renders in its transaction.
Nothing depends on the worker: a build renders what is missing, byte for byte the same."""

from datetime import UTC, datetime
from importlib import import_module

import pytest
from django.core.files.storage import storages
from django.db import transaction

from edition import tasks
from edition.exporting import builds, epub, sources
from edition.exporting.formats import FORMATS
from edition.gate import check_rendering
from edition.imports import import_tei
from edition.models import ExportFile, ExportFragment, Revision, Suggestion
from edition.tei import TEI_NS
from tests.helpers import EXCERPT, make_member

pytestmark = pytest.mark.django_db
WHEN = datetime(2026, 11, 28, 1, 2, 3, tzinfo=UTC)
EXPORTS = ["tei", "html", "txt", "json", "epub"]


@pytest.fixture(autouse=True)
def text_group(settings, monkeypatch):
    settings.EMEND_EXPORT_FORMATS = EXPORTS
    real = builds.load_volume

    def at_one_moment(*args, **kwargs):  # the files name the moment: compared byte for byte
        vol = real(*args, **kwargs)
        vol.built_at = WHEN
        return vol

    monkeypatch.setattr(builds, "load_volume", at_one_moment)


@pytest.fixture
def sent(monkeypatch) -> list:
    """What the import hands the worker after its commit (task name, arguments)."""
    messages = []
    monkeypatch.setattr(tasks, "_send", lambda task, args, options: messages.append(
        (task.name.rsplit(".", 1)[-1], args)))
    return messages


@pytest.fixture
def volume_sized(settings):
    """The sample excerpt imported as a volume is: more units than are rendered inline."""
    settings.EMEND_IMPORT_RENDER_INLINE_UNITS = 1


def imported(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return import_tei(EXCERPT)


def build_files(edition) -> dict[tuple, bytes]:
    with transaction.atomic():
        builds.request_export(edition, "test", full=True)
    [built] = builds.run(edition.pk).builds
    files = {}
    for row in ExportFile.objects.filter(build=built).select_related("document"):
        with storages["exports"].open(row.name, "rb") as handle:
            files[(row.format, row.document.xml_id if row.document else None)] = handle.read()
    return files


def counting(monkeypatch) -> list:
    rendered = []
    real = sources.fragment

    def spy(fmt, version, part, build):
        def counted():
            rendered.append((fmt, part.xml_id))
            return build()
        return real(fmt, version, part, counted)

    monkeypatch.setattr(sources, "fragment", spy)
    monkeypatch.setattr(epub, "fragment", spy)
    return rendered


def break_text_export_of(monkeypatch, xml_id: str) -> None:
    """The plain-text export's piece fails on one unit (a renderer bug meeting its markup)."""
    module, function = FORMATS["txt"].piece.rsplit(".", 1)
    owner = import_module(f"edition.exporting.{module}")
    real = getattr(owner, function)

    def broken(part):
        if part.xml_id == xml_id:
            raise KeyError("boom")
        return real(part)

    monkeypatch.setattr(owner, function, broken)


def render_checks(edition):
    return Suggestion.objects.filter(document__edition=edition, check_name="render")


def test_a_volume_is_rendered_after_the_commit_and_its_report_says_so(
        volume_sized, sent, django_capture_on_commit_callbacks):
    result = imported(django_capture_on_commit_callbacks)
    units = result.edition.documents.count()
    assert result.warnings == []
    assert result.render_pending == units
    [note] = result.notes
    assert f"rendering check of {units} new revision(s) runs in the worker" in note
    assert f"/{result.edition.slug}/suggestions/?check=render" in note
    assert not ExportFragment.objects.exists()  # nothing rendered in the transaction
    [ids] = [args[0] for name, args in sent if name == "check_rendering"]
    assert sorted(ids) == sorted(Revision.objects.filter(current_of__edition=result.edition)
                                 .values_list("pk", flat=True))


def test_the_worker_keeps_every_piece_for_the_build(
        volume_sized, sent, django_capture_on_commit_callbacks, monkeypatch):
    result = imported(django_capture_on_commit_callbacks)
    [ids] = [args[0] for name, args in sent if name == "check_rendering"]
    assert tasks.check_rendering(ids) == 0  # the task as the worker runs it
    units = result.edition.documents.count()
    assert ExportFragment.objects.filter(format="html").count() == units
    assert not render_checks(result.edition).exists()
    rendered = counting(monkeypatch)
    stored = build_files(result.edition)
    assert rendered == []  # the build assembled what the worker kept
    ExportFragment.objects.all().delete()
    assert stored == build_files(result.edition)  # and it is the cold build


def test_without_the_worker_nothing_is_lost(
        volume_sized, sent, django_capture_on_commit_callbacks, monkeypatch, client):
    # The worker never runs: the build renders every piece itself; the reading view renders
    # on its first reader.
    deferred = imported(django_capture_on_commit_callbacks).edition
    rendered = counting(monkeypatch)
    files = build_files(deferred)
    units = deferred.documents.count()
    assert len(rendered) == units * len(EXPORTS)
    response = client.get(f"/{deferred.slug}/d142/")
    assert response.status_code == 200
    assert "Memorandum" in response.content.decode()
    # Pieces the worker keeps (had it run) make the same files as pieces the build rendered.
    ExportFragment.objects.all().delete()
    [ids] = [args[0] for name, args in sent if name == "check_rendering"]
    assert check_rendering(ids) == 0
    rendered.clear()
    assert build_files(deferred) == files
    assert rendered == []


def test_a_unit_the_worker_cannot_render_becomes_a_suggestion_once(
        volume_sized, sent, django_capture_on_commit_callbacks, monkeypatch, client):
    result = imported(django_capture_on_commit_callbacks)
    assert result.warnings == []  # the TEI is valid: the import cannot know yet
    [ids] = [args[0] for name, args in sent if name == "check_rendering"]
    break_text_export_of(monkeypatch, "d144")
    assert check_rendering(ids) == 1
    [found] = render_checks(result.edition)
    assert found.document.xml_id == "d144"
    assert found.revision_id == found.document.current_revision_id
    assert found.explanation == ("d144: the plain text export cannot be made from it: "
                                 "KeyError: 'boom'")
    assert found.change == "" and found.kind == Suggestion.Kind.IMPORT
    # The other units' pieces are kept; d144's other formats too.
    d142 = result.edition.documents.get(xml_id="d142")
    assert ExportFragment.objects.filter(checksum=d142.current_revision.checksum,
                                         format="txt").exists()
    # Run again (a retry, a second message): the same one suggestion.
    assert check_rendering(ids) == 1
    assert render_checks(result.edition).count() == 1
    # It is listed where the report says.
    editor = make_member(result.edition, "editor", "editor")
    client.force_login(editor)
    page = client.get(f"/{result.edition.slug}/suggestions/?check=render")
    assert page.status_code == 200
    assert "the plain text export cannot be made from it" in page.content.decode()
    # Dismissed, it never comes back; fixed, the open one goes.
    render_checks(result.edition).update(dismissed_at=WHEN)
    assert check_rendering(ids) == 1
    assert render_checks(result.edition).open().count() == 0
    render_checks(result.edition).delete()
    check_rendering(ids)
    assert render_checks(result.edition).count() == 1
    monkeypatch.undo()
    assert check_rendering(ids) == 0
    assert not render_checks(result.edition).exists()


def test_a_revision_no_longer_current_is_not_checked(
        volume_sized, sent, django_capture_on_commit_callbacks, monkeypatch):
    from tests.helpers import revise

    result = imported(django_capture_on_commit_callbacks)
    [ids] = [args[0] for name, args in sent if name == "check_rendering"]
    d144 = result.edition.documents.get(xml_id="d144")
    revise(d144, "typhoons", "cyclones")  # approved since: its own gate rendered it
    break_text_export_of(monkeypatch, "d144")
    assert check_rendering(ids) == 0


def test_a_small_import_renders_in_its_transaction_and_reports_at_once(
        sent, django_capture_on_commit_callbacks, monkeypatch):
    break_text_export_of(monkeypatch, "d144")
    result = imported(django_capture_on_commit_callbacks)
    assert result.render_pending == 0 and result.notes == []
    assert result.warnings == ["d144: the plain text export cannot be made from it: "
                               "KeyError: 'boom'"]
    assert "check_rendering" not in [name for name, _ in sent]
    assert ExportFragment.objects.filter(format="html").count() == (
        result.edition.documents.count())


def test_a_render_suggestion_is_offered_while_its_revision_is_current(
        volume_sized, sent, django_capture_on_commit_callbacks, monkeypatch):
    from edition.suggestions import offers
    from tests.helpers import revise

    result = imported(django_capture_on_commit_callbacks)
    [ids] = [args[0] for name, args in sent if name == "check_rendering"]
    break_text_export_of(monkeypatch, "d144")
    check_rendering(ids)
    d144 = result.edition.documents.get(xml_id="d144")
    [offer] = offers(d144, d144.current_revision)
    assert offer.suggestion.check_name == "render" and offer.propose_url == ""
    revise(d144, "typhoons", "cyclones")  # a new revision: the finding was about the old one
    d144.refresh_from_db()
    assert [o for o in offers(d144, d144.current_revision)
            if o.suggestion.check_name == "render"] == []


@pytest.mark.django_db(transaction=True)
def test_a_document_created_outside_a_transaction_names_its_revision(sample_edition):
    # No transaction around it (a script, a TransactionTestCase): the document and its
    # revision point at each other all the same (PostgreSQL: both COPYs in one transaction).
    from edition.imports import create_document
    from tests.helpers import document_tei

    tei = document_tei(900).replace("<div ", f'<div xmlns="{TEI_NS}" ', 1)
    document = create_document(sample_edition, "d900", tei, {"number": 900, "title": "Odd"},
                               order=900, by=None, summary="test")
    document.refresh_from_db()
    assert document.current_revision.tei == tei
    assert document.search_entries.exists()


def test_a_lost_check_is_sent_again_by_the_sweep_until_it_is_done(
        volume_sized, sent, django_capture_on_commit_callbacks, settings):
    # The import's message is lost (a broker outage at the commit, a worker that died): the
    # rows written in its transaction stay, and the periodic sweep sends the check again.
    from datetime import timedelta

    from django.utils import timezone

    from edition.models import PendingRenderCheck

    result = imported(django_capture_on_commit_callbacks)
    ids = sorted(Revision.objects.filter(current_of__edition=result.edition)
                 .values_list("pk", flat=True))
    assert sorted(PendingRenderCheck.objects.values_list("revision_id", flat=True)) == ids
    sent.clear()
    assert tasks.sweep_stuck_jobs()["render_checks"] == []  # sent just now: left alone
    assert sent == []
    PendingRenderCheck.objects.update(sent_at=timezone.now() - timedelta(
        seconds=settings.EMEND_RENDER_CHECK_RESEND_SECONDS + 1))
    assert tasks.sweep_stuck_jobs()["render_checks"] == ids
    assert [args[0] for name, args in sent if name == "check_rendering"] == [ids]
    assert tasks.sweep_stuck_jobs()["render_checks"] == []  # marked sent: once per interval
    assert tasks.check_rendering(ids) == 0
    assert not PendingRenderCheck.objects.exists()  # done: nothing left for the sweep
    assert ExportFragment.objects.filter(format="html").count() == len(ids)
