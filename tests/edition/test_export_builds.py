"""Export builds (edition/exporting/builds.py): the outbox, coalescing, incremental files, the
atomic switch, takeover of abandoned builds, failures, pruning; and the pages that serve them.

Most tests build TEI only (EMEND_EXPORT_FORMATS) to stay fast: the machinery does not depend
on the format, and every format is checked with its own tools in test_export_*.py.
"""

import hashlib
import io
import re
import shutil
import subprocess
import zipfile
from datetime import timedelta

import pytest
from django.core.files.storage import storages
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from edition.exporting import builds
from edition.models import ExportBuild, ExportFile, ExportRequest
from review.actions.propose import do_propose
from tests.helpers import revise, text_spec
from review.actions.approve import do_approve

pytestmark = pytest.mark.django_db
Status = ExportBuild.Status


@pytest.fixture(autouse=True)
def tei_only(settings):
    settings.EMEND_EXPORT_FORMATS = ["tei"]


@pytest.fixture
def sample_edition(sample_volume):
    return sample_volume


def read(row: ExportFile) -> bytes:
    with storages["exports"].open(row.name, "rb") as handle:
        return handle.read()


def readable(fmt: str, data: bytes) -> str | None:
    """The words of an export file: the EPUB's title page, the PDF's text."""
    if fmt == "epub":
        data = zipfile.ZipFile(io.BytesIO(data)).read("EPUB/title.xhtml")
    if fmt == "pdf":
        if not shutil.which("pdftotext"):
            return None
        data = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True,
                              check=True).stdout
    return " ".join(data.decode().split())


def volume_file(edition, fmt="tei") -> ExportFile:
    return ExportFile.objects.get(build__edition=edition, build__current=True, format=fmt,
                                  document=None)


class TestOutbox:
    def test_an_import_asks_for_an_export(self, sample_edition):
        reasons = ExportRequest.objects.filter(edition=sample_edition, build=None).values_list(
            "reason", flat=True)
        assert [r.split(" ")[0] for r in reasons] == ["Imported", "Imported"]  # TEI, text

    def test_an_approval_writes_a_request_in_its_transaction(self, sample_edition, people):
        ExportRequest.objects.all().delete()
        editor, reviewer = people.editor, people.reviewer
        d142 = sample_edition.documents.get(xml_id="d142")
        proposal = do_propose(d142, author=editor, base_revision=1, rationale="x",
                              changes=[text_spec(d142.current_revision, "north Korea",
                                                      "North Korea")])
        do_approve(proposal, by=reviewer)
        [request] = ExportRequest.objects.all()
        assert request.build is None and "d142 revision 2" in request.reason

    def test_a_rolled_back_approval_leaves_no_request(self, sample_edition):
        ExportRequest.objects.all().delete()
        with pytest.raises(RuntimeError), transaction.atomic():
            builds.request_export(sample_edition, "doomed")
            raise RuntimeError
        assert not ExportRequest.objects.exists()

    def test_a_broker_outage_loses_nothing(self, sample_edition, monkeypatch, caplog,
                                           django_capture_on_commit_callbacks):
        # The real outage, with a real broker and worker, is in test_export_worker.py.
        from edition import tasks

        def refuse(*args, **kwargs):
            raise ConnectionRefusedError("[Errno 111] Connection refused")

        monkeypatch.setattr(tasks.build_exports, "apply_async", refuse)
        with django_capture_on_commit_callbacks(execute=True):
            builds.request_export(sample_edition, "during an outage")
        assert "could not enqueue edition.tasks.build_exports" in caplog.text
        assert ExportRequest.objects.filter(reason="during an outage", build=None).exists()
        assert (sample_edition.pk, "text") in builds.editions_needing_a_build()


class TestBuild:
    def test_builds_every_file_and_switches_the_pointer(self, sample_edition):
        outcome = builds.run(sample_edition.pk)
        assert outcome.status == "built" and len(outcome.builds) == 1
        build = builds.current_builds(sample_edition)["text"]
        assert build.status == Status.COMPLETE and build.finished_at
        # Every unit: the compilation "Japan" (its heading) and its three documents.
        assert build.sources == {"comp1": 1, "d142": 1, "d143": 1, "d144": 1}
        files = list(build.files.all())
        assert sorted((f.document.xml_id if f.document else "") for f in files) == [
            "", "comp1", "d142", "d143", "d144"]
        for row in files:
            data = read(row)
            assert len(data) == row.size and hashlib.sha256(data).hexdigest() == row.sha256
        assert not ExportRequest.objects.filter(build=None).exists()

    @pytest.mark.parametrize("mode", [0o640, 0o604])
    def test_files_take_the_storages_permission_mode(self, sample_edition, settings, mode):
        # The build writes into the local storage itself: the mode `save` would give.
        import os
        import stat

        settings.FILE_UPLOAD_PERMISSIONS = mode
        storages["exports"].__dict__.pop("file_permissions_mode", None)  # a cached_property
        try:
            builds.run(sample_edition.pk)
            files = list(builds.current_builds(sample_edition)["text"].files.all())
            assert len(files) == 5 and any(f.document is None for f in files)
            for row in files:
                path = storages["exports"].path(row.name)
                assert stat.S_IMODE(os.stat(path).st_mode) == mode
        finally:
            storages["exports"].__dict__.pop("file_permissions_mode", None)

    @pytest.mark.parametrize("memory", [0, 2, 1000])
    def test_the_rows_of_the_files_written_whether_kept_in_memory_or_on_disk(
            self, sample_edition, monkeypatch, memory):
        # _Spool keeps the first MEMORY rows in memory and the rest in a file: all of them,
        # once each, become ExportFile rows naming what was written.
        monkeypatch.setattr(builds._Spool, "MEMORY", memory)
        builds.run(sample_edition.pk)
        files = list(builds.current_builds(sample_edition)["text"].files.all())
        assert sorted((f.document.xml_id if f.document else "") for f in files) == [
            "", "comp1", "d142", "d143", "d144"]
        for row in files:
            data = read(row)
            assert len(data) == row.size and hashlib.sha256(data).hexdigest() == row.sha256

    def test_every_volume_file_names_the_revisions_it_was_built_from(self, sample_edition,
                                                                      settings):
        """A copy cited offline still says which text it holds."""
        settings.EMEND_EXPORT_FORMATS = []  # all
        revise(sample_edition.documents.get(xml_id="d143"), "Conversation", "Conversation (c)")
        builds.request_export(sample_edition, "approval")
        builds.run(sample_edition.pk)
        for fmt in ["tei", "html", "txt", "json", "epub", "pdf"]:
            text = readable(fmt, read(volume_file(sample_edition, fmt)))
            if text is None:
                continue  # pdftotext missing: test_export_pdf.py says so
            assert re.search(r"d143\W+(revision\W+)?r?2\b", text), (fmt, text[-600:])

    def test_nothing_pending_means_nothing_built(self, sample_edition):
        builds.run(sample_edition.pk)
        assert builds.run(sample_edition.pk).status == "idle"
        assert ExportBuild.objects.count() == 1

    def test_a_run_says_how_it_ended(self, sample_edition, capsys):
        assert builds.run(sample_edition.pk).status is builds.Result.BUILT
        assert builds.run(sample_edition.pk).status is builds.Result.IDLE
        builds.request_export(sample_edition, "approval")
        builds._claim(sample_edition.pk, "text")  # another worker's build, running
        call_command("rebuild_exports", sample_edition.slug, "--now")
        assert "another worker is building it now" in capsys.readouterr().out

    def test_requests_coalesce_into_one_build(self, sample_edition):
        for n in range(50):
            builds.request_export(sample_edition, f"approval {n}")
        outcome = builds.run(sample_edition.pk)
        assert len(outcome.builds) == 1
        assert outcome.builds[0].requests.count() == 52  # the two imports' and the 50

    def test_a_build_waits_for_a_burst_to_end_but_not_forever(self, sample_edition, settings):
        settings.EMEND_EXPORT_DEBOUNCE_SECONDS = 0.4
        settings.EMEND_EXPORT_MAX_WAIT_SECONDS = 1.0
        ExportRequest.objects.update(created_at=timezone.now() - timedelta(minutes=1))
        assert builds.settle_in(sample_edition.pk, "text") == 0  # quiet already
        ExportRequest.objects.all().delete()
        assert builds.settle_in(sample_edition.pk, "text") == 0  # nothing pending
        builds.request_export(sample_edition, "just now")
        # DEBOUNCE of quiet...
        assert 0.3 < builds.settle_in(sample_edition.pk, "text") <= 0.41
        ExportRequest.objects.filter(reason="just now").update(
            created_at=timezone.now() - timedelta(seconds=0.9))
        for n in range(3):  # ...or until the oldest waited MAX_WAIT, however busy it is
            builds.request_export(sample_edition, f"more {n}")
        assert 0 < builds.settle_in(sample_edition.pk, "text") <= 0.11
        ExportRequest.objects.filter(reason="just now").update(
            created_at=timezone.now() - timedelta(seconds=1.0))
        assert builds.settle_in(sample_edition.pk, "text") == 0

    def test_the_task_never_sleeps_it_sends_itself_again(self, sample_edition, settings,
                                                         monkeypatch):
        """A worker process asleep in a debounce cannot warm the pages readers wait for."""
        from edition import tasks

        settings.EMEND_EXPORT_DEBOUNCE_SECONDS = 5.0
        settings.EMEND_EXPORT_MAX_WAIT_SECONDS = 30.0

        def no_sleep(seconds):
            raise AssertionError(f"the export task slept {seconds} s in the worker")

        monkeypatch.setattr("time.sleep", no_sleep)
        sent = []
        monkeypatch.setattr(tasks.build_exports, "apply_async",
                            lambda args, retry, **options: sent.append((args, options)))
        ExportRequest.objects.all().delete()
        builds.request_export(sample_edition, "just now")
        # As a worker runs it (not eagerly): sent again for when the burst has settled.
        assert tasks.build_exports.run(sample_edition.pk, "text") == tasks.DEFERRED
        assert not ExportBuild.objects.exists()
        [(args, options)] = sent
        assert args == (sample_edition.pk, "text") and 4.5 < options["countdown"] <= 5.01
        # The requests wait as pending rows; the message sent for then builds them all.
        ExportRequest.objects.update(created_at=timezone.now() - timedelta(seconds=6))
        assert tasks.build_exports.run(sample_edition.pk, "text") == "built"
        assert ExportRequest.objects.filter(group="text", build=None).count() == 0
        assert len(sent) == 1

    @pytest.mark.parametrize("gaps", [
        [0.01] * 50,  # one burst, shorter than MAX_WAIT
        [0.01] * 20 + [0.5] + [0.01] * 29,  # a pause past the debounce in the middle
        [0.03] * 50,  # a burst longer than MAX_WAIT
    ], ids=["burst", "pause", "long"])
    def test_fifty_approvals_make_a_few_messages_and_builds_never_none(
            self, sample_edition, settings, monkeypatch, django_capture_on_commit_callbacks,
            gaps):
        """The messages of a burst are de-duplicated (tasks.send_build_exports): 50 approvals
        send a few, make a few builds, and every request is built. The broker is a queue of
        (due, message) run by this test as a worker would, each message at its time."""
        import time

        from edition import tasks

        settings.EMEND_EXPORT_FORMATS = ["txt"]
        settings.EMEND_EXPORT_DEBOUNCE_SECONDS = 0.3
        settings.EMEND_EXPORT_MAX_WAIT_SECONDS = 1.0
        settings.CELERY_TASK_ALWAYS_EAGER = False  # as with a worker: the queue below is it
        queue: list[tuple[float, tuple]] = []
        sent = []

        def send(args, retry, countdown=0, **options):
            sent.append(countdown)
            queue.append((time.monotonic() + countdown, args))

        monkeypatch.setattr(tasks.build_exports, "apply_async", send)

        def deliver(until: float) -> None:
            """Run every message due before `until`, in the order they fall due."""
            while queue:
                queue.sort()
                due, args = queue[0]
                if due > until:
                    return
                time.sleep(max(0.0, due - time.monotonic()))
                queue.pop(0)
                tasks.build_exports.run(*args)

        ExportRequest.objects.all().delete()
        for n, gap in enumerate(gaps):
            with django_capture_on_commit_callbacks(execute=True):
                builds.request_export(sample_edition, f"approval {n}")
            deliver(time.monotonic())
            time.sleep(gap)
        deliver(float("inf"))
        made = ExportBuild.objects.filter(edition=sample_edition, group="text")
        assert not ExportRequest.objects.filter(build=None).exists()  # every one built
        assert ExportRequest.objects.filter(build__in=made).count() == 50
        assert made.filter(status=ExportBuild.Status.COMPLETE).count() == made.count()
        burst = sum(gaps)
        # A build every MAX_WAIT at most while they come, one after each settling.
        assert 1 <= made.count() <= 2 + int(burst // 1.0) + (1 if max(gaps) > 0.3 else 0), \
            [b.requests.count() for b in made]
        # Without the de-duplication 114 to 220 messages (each approval's, and each deferred
        # once more every time it came early). With it, 5 to 20 measured: a few per debounce
        # (an approval's, a deferred one's) and per build; the bound leaves room for a slow
        # machine and stays well under the 50 approvals.
        assert len(sent) <= 5 * (int(burst / 0.3) + 1) + 2 * made.count() < 50, sent

    def test_an_unreachable_cache_never_holds_a_message_back(
            self, sample_edition, settings, monkeypatch, django_capture_on_commit_callbacks):
        """Emend's cache answers a failed `add` with False, as if a mark were there: with the
        cache unreachable every request still sends its message."""
        from edition import sharedcache, tasks
        from tests.edition.test_shared_cache import DEAD_REDIS

        settings.CELERY_TASK_ALWAYS_EAGER = False
        settings.EMEND_EXPORT_FORMATS = ["txt"]
        settings.EMEND_EXPORT_DEBOUNCE_SECONDS = 30.0
        sent = []
        monkeypatch.setattr(tasks.build_exports, "apply_async",
                            lambda args, retry, **options: sent.append(args))
        settings.CACHES = DEAD_REDIS
        sharedcache._down_until.clear()
        for n in range(3):
            with django_capture_on_commit_callbacks(execute=True):
                builds.request_export(sample_edition, f"approval {n}")
        assert len(sent) == 3

    def test_a_scheduled_message_covers_later_requests_until_it_runs(
            self, sample_edition, settings, monkeypatch, django_capture_on_commit_callbacks):
        """A request finding a message scheduled sends none; once that message has run (or
        the broker refused it) the next request sends its own."""
        from edition import tasks

        settings.CELERY_TASK_ALWAYS_EAGER = False
        settings.EMEND_EXPORT_FORMATS = ["txt"]
        settings.EMEND_EXPORT_DEBOUNCE_SECONDS = 30.0
        sent, refuse = [], [True]

        def send(args, retry, **options):
            if refuse[0]:
                raise ConnectionError("broker down")
            sent.append(args)

        monkeypatch.setattr(tasks.build_exports, "apply_async", send)
        for n, expected in [(0, 0), (1, 1), (2, 1), (3, 1)]:
            refuse[0] = n == 0  # the first is refused: its mark must not hold the next back
            with django_capture_on_commit_callbacks(execute=True):
                builds.request_export(sample_edition, f"approval {n}")
            assert len(sent) == expected, n
        ExportRequest.objects.update(created_at=timezone.now() - timedelta(seconds=60))
        assert tasks.build_exports.run(sample_edition.pk, "text") == "built"
        with django_capture_on_commit_callbacks(execute=True):
            builds.request_export(sample_edition, "after the build")
        assert len(sent) == 2

    def test_one_changed_document_rerenders_one_file(self, sample_edition):
        builds.run(sample_edition.pk)
        first = volume_file(sample_edition).build
        d143 = sample_edition.documents.get(xml_id="d143")
        revise(d143, "Conversation", "Conversation (corrected)")
        builds.request_export(sample_edition, "approval")
        [second] = builds.run(sample_edition.pk).builds
        assert (second.rendered, second.reused) == (1, 3)
        old = {f.document_id: f.name for f in first.files.exclude(document=None)}
        new = {f.document_id: f.name for f in second.files.exclude(document=None)}
        assert new[d143.pk] != old[d143.pk]
        assert all(new[k] == old[k] for k in old if k != d143.pk)
        assert b"Conversation (corrected)" in read(volume_file(sample_edition))
        # The earlier build's files stay where they were: a cited download keeps working.
        assert b"(corrected)" not in read(first.files.get(document=None))

    def test_volume_tei_keeps_the_skeleton_and_validates(self, sample_edition, tei_all):
        builds.run(sample_edition.pk)
        root = etree.fromstring(read(volume_file(sample_edition)))
        assert root.find("{http://www.tei-c.org/ns/1.0}teiHeader") is not None
        [change] = root.iterfind(".//{http://www.tei-c.org/ns/1.0}revisionDesc/"
                                 "{http://www.tei-c.org/ns/1.0}change")
        assert "d142 revision 1, d143 revision 1, d144 revision 1" in change.text
        ids = [d.get("{http://www.w3.org/XML/1998/namespace}id")
               for d in root.iter("{http://www.tei-c.org/ns/1.0}div") if d.get("type") == "document"]
        assert ids == ["d142", "d143", "d144"]
        for el in root.iter():
            for name in [n for n in el.attrib if n.startswith("{http://history.state.gov/frus")]:
                del el.attrib[name]
        assert tei_all.validate(etree.ElementTree(root)), tei_all.error_log.last_error

    def test_a_failed_build_keeps_the_previous_export_and_its_requests(self, sample_edition,
                                                                        monkeypatch):
        builds.run(sample_edition.pk)
        good = volume_file(sample_edition)
        builds.request_export(sample_edition, "rebuild", full=True)
        from edition.exporting import tei

        def broken(vol):
            raise OSError("disk full")

        monkeypatch.setattr(tei, "volume_chunks", broken)  # what a build writes
        with pytest.raises(OSError):
            builds.run(sample_edition.pk)
        failed = ExportBuild.objects.first()
        assert failed.status == Status.FAILED and "disk full" in failed.error
        assert volume_file(sample_edition) == good
        # What it wrote before failing is gone; Celery retries it, the sweep leaves it a while.
        assert storages["exports"].listdir(f"{sample_edition.slug}/{failed.pk}")[1] == []
        assert builds.editions_needing_a_build() == []
        [state] = builds.states(sample_edition)
        assert state.failed == failed and state.pending == 1
        monkeypatch.undo()
        assert builds.run(sample_edition.pk).status == "built"
        assert builds.states(sample_edition)[0].failed is None

    def test_a_running_build_makes_others_wait(self, sample_edition):
        claim = builds._claim(sample_edition.pk, "text")
        assert isinstance(claim, tuple)
        builds.request_export(sample_edition, "meanwhile")
        assert builds.run(sample_edition.pk).status == "busy"

    def test_an_abandoned_build_is_taken_over_and_cannot_switch_later(self, sample_edition,
                                                                        settings):
        abandoned, _ = builds._claim(sample_edition.pk, "text")
        ExportBuild.objects.filter(pk=abandoned.pk).update(
            heartbeat_at=timezone.now() - timedelta(seconds=settings.EMEND_EXPORT_STALE_SECONDS + 1))
        assert builds.editions_needing_a_build() == [(sample_edition.pk, "text")]
        [winner] = builds.run(sample_edition.pk).builds
        abandoned.refresh_from_db()
        assert abandoned.status == Status.ABANDONED and "taken over" in abandoned.error
        # The presumed-dead worker wakes up and finishes: its result is thrown away.
        with pytest.raises(builds.Superseded):
            builds._build(abandoned, full=False)
        assert volume_file(sample_edition).build == winner

    def test_the_sweep_backs_off_a_failure_whatever_its_message_says(self, sample_edition,
                                                                     monkeypatch):
        from edition.exporting import tei

        def broken(vol):
            raise OSError("the font cache was taken over.")

        monkeypatch.setattr(tei, "volume_chunks", broken)  # what a build writes
        with pytest.raises(OSError):
            builds.run(sample_edition.pk)
        assert ExportBuild.objects.get().status == Status.FAILED
        assert builds.editions_needing_a_build() == []

    def test_a_taken_over_build_does_not_hold_the_sweep_back(self, sample_edition):
        ExportBuild.objects.create(edition=sample_edition, group="text", status=Status.ABANDONED,
                                   finished_at=timezone.now(), error="…; taken over.")
        assert builds.editions_needing_a_build() == [(sample_edition.pk, "text")]
        [state] = builds.states(sample_edition)  # the panel shows it as it shows a failure
        assert state.failed.status == Status.ABANDONED and state.pending == 2

    def test_taken_over_builds_of_before_the_status_are_marked_so(self, sample_edition):
        from importlib import import_module

        from django.apps import apps

        migration = import_module("edition.migrations.0005_exportbuild_abandoned")
        taken, failed = (ExportBuild.objects.create(
            edition=sample_edition, status=Status.FAILED, error=error) for error in [
            "The worker building it stopped (no sign of life since …); taken over.",
            "OSError: disk full"])
        migration.mark_abandoned(apps, None)
        taken.refresh_from_db()
        failed.refresh_from_db()
        assert (taken.status, failed.status) == (Status.ABANDONED, Status.FAILED)

    def test_a_new_site_address_rerenders_everything(self, sample_edition, settings):
        builds.run(sample_edition.pk)
        settings.EMEND_SITE_URL = "https://history.example.org"
        builds.request_export(sample_edition, "moved")
        [build] = builds.run(sample_edition.pk).builds
        assert (build.rendered, build.reused) == (4, 0)

    def test_a_new_document_style_rerenders_the_html(self, sample_edition, settings,
                                                      monkeypatch):
        """The HTML export inlines the site's document.css: editing it is a new HTML format."""
        from edition.exporting import html

        settings.EMEND_EXPORT_FORMATS = ["html"]
        builds.run(sample_edition.pk)
        monkeypatch.setattr(html, "style", lambda: "body { color: red; }")
        builds.request_export(sample_edition, "the site's document.css changed")
        [build] = builds.run(sample_edition.pk).builds
        assert (build.rendered, build.reused) == (4, 0)

    def test_full_rebuild_rerenders_everything(self, sample_edition):
        builds.run(sample_edition.pk)
        call_command("rebuild_exports", sample_edition.slug, "--now")
        build = ExportBuild.objects.first()
        assert (build.rendered, build.reused) == (4, 0)

    def test_prune_keeps_current_and_recent_builds(self, sample_edition, settings):
        builds.run(sample_edition.pk)
        first = ExportBuild.objects.get()
        first_only = [f.name for f in first.files.all()]
        d143 = sample_edition.documents.get(xml_id="d143")
        revise(d143, "Conversation", "Conversation (corrected)")
        builds.request_export(sample_edition, "approval")
        builds.run(sample_edition.pk)
        assert builds.prune() == 0
        # Kept KEEP_DAYS from when it was replaced, however old it is.
        ExportBuild.objects.filter(pk=first.pk).update(
            started_at=timezone.now() - timedelta(days=settings.EMEND_EXPORT_KEEP_DAYS + 9))
        assert builds.prune() == 0
        ExportBuild.objects.filter(pk=first.pk).update(
            superseded_at=timezone.now() - timedelta(days=settings.EMEND_EXPORT_KEEP_DAYS + 1))
        assert builds.prune() == 1
        assert not ExportRequest.objects.filter(build=None).exists()  # nothing to rebuild
        storage = storages["exports"]
        still_used = set(ExportFile.objects.values_list("name", flat=True))
        for name in first_only:
            assert storage.exists(name) == (name in still_used)

    def test_prune_deletes_failed_and_taken_over_builds_after_a_day(self, sample_edition):
        day_old = timezone.now() - timedelta(days=1, minutes=1)
        for status in [Status.FAILED, Status.ABANDONED]:
            for started in [day_old, timezone.now()]:
                build = ExportBuild.objects.create(edition=sample_edition, status=status)
                ExportBuild.objects.filter(pk=build.pk).update(started_at=started)
        assert builds.prune() == 2
        assert list(ExportBuild.objects.values_list("status", flat=True).order_by("status")) \
            == [Status.ABANDONED, Status.FAILED]


class TestPages:
    def test_exports_page_lists_the_files(self, client, sample_edition):
        builds.run(sample_edition.pk)
        page = client.get(reverse("edition:exports", args=[sample_edition.slug]))
        assert page.status_code == 200
        html = page.content.decode()
        row = volume_file(sample_edition)
        assert row.sha256 in html and "Last updated" in html
        assert f"/{sample_edition.slug}/exports/{sample_edition.slug}.xml" in html
        assert "d143 revision 1" in html
        assert 'id="export-status"' not in html  # the status panel is for reviewers

    def test_exports_page_before_any_build(self, client, sample_edition):
        page = client.get(reverse("edition:exports", args=[sample_edition.slug]))
        assert "have not been built yet" in page.content.decode()

    def test_download_the_volume(self, client, sample_edition):
        builds.run(sample_edition.pk)
        row = volume_file(sample_edition)
        url = reverse("edition:export_file", args=[sample_edition.slug,
                                                   f"{sample_edition.slug}.xml"])
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/tei+xml"
        assert response["Content-Disposition"] == (
            f'attachment; filename="{sample_edition.slug}.xml"')
        assert response["ETag"] == f'"{row.sha256}"'
        assert response["X-Emend-Build"] == str(row.build_id)
        assert b"".join(response.streaming_content) == read(row)
        again = client.get(url, HTTP_IF_NONE_MATCH=f'"{row.sha256}"')
        assert again.status_code == 304
        assert again["ETag"] == f'"{row.sha256}"' and "no-cache" in again["Cache-Control"]

    def test_download_a_document_and_an_earlier_build(self, client, sample_edition):
        builds.run(sample_edition.pk)
        first = volume_file(sample_edition).build
        revise(sample_edition.documents.get(xml_id="d143"), "Conversation", "Talk")
        builds.request_export(sample_edition, "approval")
        builds.run(sample_edition.pk)
        current = client.get(reverse("edition:export_file",
                                     args=[sample_edition.slug, "d143.xml"]))
        assert b"Talk" in b"".join(current.streaming_content)
        assert current["X-Emend-Sources"] == "d143 r2"
        cited = client.get(reverse("edition:export_build_file",
                                   args=[sample_edition.slug, first.pk, "d143.xml"]))
        assert b"Talk" not in b"".join(cited.streaming_content)
        assert "immutable" in cited["Cache-Control"]

    @pytest.mark.parametrize("name", ["d999.xml", "d143.doc", "d143", "../d143.xml"])
    def test_unknown_files_are_404(self, client, sample_edition, name):
        builds.run(sample_edition.pk)
        assert client.get(f"/{sample_edition.slug}/exports/{name}").status_code == 404

    def test_status_panel_permissions(self, client, sample_edition, people):
        url = reverse("edition:export_status", args=[sample_edition.slug])
        assert client.get(url).status_code == 302  # to sign in
        for user, expected in [(people.stranger, 404), (people.editor, 403),
                               (people.reviewer, 200), (people.admin, 200)]:
            client.force_login(user)
            assert client.get(url).status_code == expected, user.username

    def test_status_panel_polls_only_while_busy(self, client, sample_edition, people):
        client.force_login(people.reviewer)
        url = reverse("edition:export_status", args=[sample_edition.slug])
        waiting = client.get(url).content.decode()
        assert "waiting for a build" in waiting and 'hx-trigger="every 2s"' in waiting
        builds._claim(sample_edition.pk, "text")
        running = client.get(url).content.decode()
        assert "rebuilding since" in running and 'hx-trigger="every 2s"' in running
        ExportBuild.objects.all().delete()
        ExportRequest.objects.all().delete()
        builds.request_export(sample_edition, "again")
        builds.run(sample_edition.pk)
        idle = client.get(url).content.decode()
        assert "up to date" in idle and "hx-trigger" not in idle
        page = client.get(reverse("edition:exports", args=[sample_edition.slug])).content
        assert b'id="export-status"' in page

    def test_document_page_links_its_exports(self, client, sample_edition):
        page = client.get(reverse("edition:document", args=[sample_edition.slug, "d142"]))
        assert f'/{sample_edition.slug}/exports/d142.xml"'.encode() in page.content


class TestCommands:
    def test_export_writes_one_file(self, sample_edition, tmp_path, capsys):
        out = tmp_path / "d143.xml"
        call_command("export", sample_edition.slug, "--format", "tei", "--document", "d143",
                     "--out", str(out))
        root = etree.parse(str(out)).getroot()
        assert root.find(".//{http://www.tei-c.org/ns/1.0}div").get(
            "{http://www.w3.org/XML/1998/namespace}id") == "d143"
        assert "from d143 r1" in capsys.readouterr().err

    def test_export_to_standard_output(self, sample_edition, capsysbinary):
        call_command("export", sample_edition.slug, "--format", "txt", "--document", "d142",
                     "--out", "-")
        out = capsysbinary.readouterr().out
        assert out.startswith("Foreign Relations".encode()) and b"142." in out

    def test_export_refuses_unknown_things(self, sample_edition, tmp_path):
        from django.core.management.base import CommandError

        with pytest.raises(CommandError, match="no document d999"):
            call_command("export", sample_edition.slug, "--format", "tei", "--document", "d999",
                         "--out", str(tmp_path / "x"))
        with pytest.raises(CommandError, match="no edition"):
            call_command("export", "nope", "--format", "tei", "--out", str(tmp_path / "x"))

    def test_rebuild_exports_queues_a_full_build(self, sample_edition):
        call_command("rebuild_exports", sample_edition.slug)
        assert ExportRequest.objects.filter(full=True, build=None).count() == 1
