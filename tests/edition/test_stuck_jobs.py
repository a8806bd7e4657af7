"""Jobs whose worker died (an upload's page images, a page's OCR) do not stay "queued" or
"running" forever: the periodic sweep marks those with no progress past a generous timeout as
failed, saying why, and the Page images page offers reviewers to retry them."""

from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from edition import facsimiles, pages, tasks
from edition.models import FacsimileUpload, PageImage
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db
PATTERN = "https://static.history.state.gov/frus/{volume}/medium/{facs}.png"


@pytest.fixture
def edition(sample_edition, people, settings):
    settings.EMEND_STUCK_JOB_SECONDS = 7200
    sample_edition.facsimile_url = PATTERN
    sample_edition.save()
    pages.sync(sample_edition)
    return sample_edition




def stored(edition, tmp_path, *facs: str) -> FacsimileUpload:
    paths = []
    for name in facs:
        path = tmp_path / f"{name}.png"
        Image.new("L", (300, 400), "white").save(path)
        paths.append(path)
    return facsimiles.store(facsimiles.plan(edition, paths))


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


def test_the_sweep_is_scheduled(settings):
    assert any(entry["task"] == "edition.tasks.sweep_stuck_jobs"
               for entry in settings.CELERY_BEAT_SCHEDULE.values())


def test_an_upload_without_progress_past_the_timeout_fails_with_a_reason(edition, tmp_path):
    upload = stored(edition, tmp_path, "0306", "0307")
    facsimiles.make(upload.pk, 0, 1)  # one page made, then the worker died
    FacsimileUpload.objects.filter(pk=upload.pk).update(status="running",
                                                        progressed_at=ago(7100))
    assert tasks.sweep_stuck_jobs()["uploads"] == []  # within the timeout: left alone
    FacsimileUpload.objects.filter(pk=upload.pk).update(progressed_at=ago(7300))
    assert tasks.sweep_stuck_jobs()["uploads"] == [upload.pk]
    upload.refresh_from_db()
    assert upload.status == "failed" and upload.finished_at is not None
    assert "stopped" in upload.error and "1 page was not made" in upload.error
    # A queued upload no worker ever took is stuck too.
    other = stored(edition, tmp_path, "0309")
    FacsimileUpload.objects.filter(pk=other.pk).update(progressed_at=ago(8000))
    assert tasks.sweep_stuck_jobs()["uploads"] == [other.pk]
    # Finished ones are never touched.
    assert tasks.sweep_stuck_jobs()["uploads"] == []


def test_progress_keeps_an_upload_alive(edition, tmp_path):
    upload = stored(edition, tmp_path, "0306", "0307")
    FacsimileUpload.objects.filter(pk=upload.pk).update(progressed_at=ago(9000))
    facsimiles.make(upload.pk, 0, 1)
    upload.refresh_from_db()
    assert upload.status == "running" and timezone.now() - upload.progressed_at < timedelta(
        seconds=60)
    assert tasks.sweep_stuck_jobs()["uploads"] == []


def test_ocr_queued_without_progress_fails_with_a_reason(edition):
    page = PageImage.objects.get(facs="0307")
    PageImage.objects.filter(pk=page.pk).update(ocr_status="queued", ocr_queued_at=ago(7300))
    # Another page of the edition read a minute ago: the queue moves, this one waits its turn.
    PageImage.objects.filter(facs="0306").update(ocr_status="done", ocr_at=ago(60))
    assert tasks.sweep_stuck_jobs()["pages"] == []
    PageImage.objects.filter(facs="0306").update(ocr_at=ago(7300))
    assert tasks.sweep_stuck_jobs()["pages"] == [page.pk]
    page.refresh_from_db()
    assert page.ocr_status == "failed" and "did not finish" in page.ocr_error


def test_reviewers_retry_a_failed_upload_and_failed_reads(edition, people, tmp_path,
                                                          monkeypatch,
                                                          django_capture_on_commit_callbacks):
    upload = stored(edition, tmp_path, "0306", "0307")
    facsimiles.make(upload.pk, 0, 1)
    FacsimileUpload.objects.filter(pk=upload.pk).update(progressed_at=ago(9000))
    PageImage.objects.filter(facs="0309").update(ocr_status="queued", ocr_queued_at=ago(9000))
    tasks.sweep_stuck_jobs()
    sent = []
    monkeypatch.setattr(tasks, "_send", lambda task, args, options: sent.append(
        (task.name, args)))
    html = signed_in(people.reviewer).get("/frus1958-60v18/pages/").content.decode()
    assert 'action="/frus1958-60v18/pages/uploads/%d/retry/"' % upload.pk in html
    assert 'action="/frus1958-60v18/pages/ocr/retry/"' in html
    # Editors see what failed, not the buttons; they cannot retry.
    html = signed_in(people.editor).get("/frus1958-60v18/pages/").content.decode()
    assert "/retry/" not in html and "stopped" in html
    assert signed_in(people.editor).post(
        f"/frus1958-60v18/pages/uploads/{upload.pk}/retry/").status_code == 403
    assert signed_in(people.stranger).post("/frus1958-60v18/pages/ocr/retry/").status_code == 404
    client = signed_in(people.reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/frus1958-60v18/pages/uploads/{upload.pk}/retry/")
    assert response.status_code == 302
    upload.refresh_from_db()
    assert upload.status == "queued" and upload.error == "" and upload.finished_at is None
    assert sent == [("edition.tasks.make_page_images", (upload.pk, 0, 2))]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/frus1958-60v18/pages/ocr/retry/")
    assert response.status_code == 302
    assert "1 page queued to be read again." in client.get(response.url).content.decode()
    page = PageImage.objects.get(facs="0309")
    assert page.ocr_status == "queued" and page.ocr_queued_at is not None
    assert ("edition.tasks.ocr_page", (page.pk,)) in sent
    # The unfinished page is made by the retried message; the upload ends done.
    facsimiles.make(upload.pk, 0, 2)
    upload.refresh_from_db()
    assert upload.status == "done" and upload.done == 2
    # A finished upload is not retried again.
    assert client.post(f"/frus1958-60v18/pages/uploads/{upload.pk}/retry/").status_code == 409
