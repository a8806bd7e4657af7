"""Export builds: the outbox, coalescing, incremental files and the atomic switch.

An approval or an import calls `request_export` inside its transaction: the request row commits
with the change or not at all, and the Celery task is sent only after the commit. A build
(`run`) takes *every* pending request of the edition at once, so a burst of approvals makes
one or two builds. It writes its files under its own folder beside the previous build's,
re-using the previous build's file for every document whose revision did not change, and only
then points the edition at itself in one UPDATE: a reader gets the old complete export or the
new complete one, never a mixture. At most one build per edition runs; a build whose worker
died (no heartbeat for EMEND_EXPORT_STALE_SECONDS) is taken over by the next task or sweep.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ..models import Edition, ExportBuild, ExportFile, ExportRequest
from . import sources
from . import formats
from .formats import Format
from .sources import Part, Volume, load_volume

log = logging.getLogger(__name__)
Status = ExportBuild.Status
HEARTBEAT_SECONDS = 2.0


class Superseded(Exception):
    """This build was taken over (its worker was presumed dead): its files are not used."""


def storage():
    return storages["exports"]


def request_export(edition: Edition, reason: str, *, full: bool = False) -> ExportRequest:
    """Ask for the edition's exports to be rebuilt once the current transaction commits."""
    from ..tasks import build_exports, enqueue_on_commit

    request = ExportRequest.objects.create(edition=edition, reason=reason[:300], full=full)
    # The delay lets a burst of approvals land before the build starts: one build for all.
    enqueue_on_commit(build_exports, edition.pk,
                      countdown=settings.EMEND_EXPORT_DEBOUNCE_SECONDS)
    return request


@dataclass
class Outcome:
    status: str  # built, idle (nothing pending), busy (another worker is building), gone
    builds: list[ExportBuild]


def run(edition_id: int) -> Outcome:
    """Build the edition's exports while requests are pending. Idempotent: with nothing
    pending it does nothing, so a duplicate or redelivered message is harmless."""
    built: list[ExportBuild] = []
    while True:
        claim = _claim(edition_id)
        if isinstance(claim, str):
            return Outcome(claim if not built or claim != "idle" else "built", built)
        build, full = claim
        try:
            _build(build, full=full)
        except Superseded:
            return Outcome("busy", built)
        except BaseException as exc:
            _fail(build, exc)
            raise
        built.append(build)


def _claim(edition_id: int) -> tuple[ExportBuild, bool] | str:
    now = timezone.now()
    with transaction.atomic():
        # The edition row lock makes claiming exclusive: two workers never build one edition.
        # FOR NO KEY UPDATE, not FOR UPDATE: an approval inserting its ExportRequest takes a
        # KEY SHARE lock on the edition while holding its document's lock, and the switch
        # inserts ExportFile rows referencing documents; FOR UPDATE would deadlock the two.
        edition = Edition.objects.select_for_update(no_key=True).filter(pk=edition_id).first()
        if edition is None:
            return "gone"
        running = ExportBuild.objects.filter(edition=edition, status=Status.BUILDING).first()
        if running is not None:
            if running.heartbeat_at > now - timedelta(seconds=settings.EMEND_EXPORT_STALE_SECONDS):
                return "busy"  # it takes whatever arrives meanwhile when it finishes
            running.status = Status.FAILED
            running.finished_at = now
            running.error = (f"The worker building it stopped (no sign of life since "
                             f"{running.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC); taken over.")
            running.save(update_fields=["status", "finished_at", "error"])
            ExportRequest.objects.filter(build=running).update(build=None)
            log.warning("export build %s of %s abandoned; taking over", running.pk, edition.slug)
        pending = ExportRequest.objects.filter(edition=edition, build=None)
        ids = list(pending.values_list("pk", flat=True))
        if not ids:
            return "idle"
        full = pending.filter(full=True).exists()
        build = ExportBuild.objects.create(edition=edition)
        ExportRequest.objects.filter(pk__in=ids).update(build=build)
    return build, full


def _build(build: ExportBuild, *, full: bool) -> None:
    edition = build.edition
    vol = load_volume(edition)
    build.sources = vol.sources()
    build.save(update_fields=["sources"])
    previous, previous_sources = _reusable_files(edition, full=full)
    files: list[ExportFile] = []  # written by this build
    reused: list[int] = []  # rows of the current build whose files this build shares
    beat = _Heartbeat(build)
    with sources.refreshing(full):
        for fmt in formats.enabled():
            version = getattr(fmt.module, "VERSION", 1)
            for part in vol.parts:
                old = previous.get((fmt.name, part.document.pk, part.revision.number, version))
                if old is not None:
                    reused.append(old)
                    build.reused += 1
                else:
                    single = Volume(edition, [part], built_at=vol.built_at, whole=False)
                    files.append(_write(build, fmt, version, part, fmt.document(single, part)))
                    build.rendered += 1
                beat()
            old = previous.get((fmt.name, None, None, version))
            if old is not None and previous_sources == build.sources:
                reused.append(old)
            else:
                files.append(_write(build, fmt, version, None, fmt.volume(vol)))
            beat()
    _switch(build, files, reused)


def _reusable_files(edition: Edition, *, full: bool) -> tuple[dict[tuple, ExportFile], dict]:
    """The current build's files by (format, document, revision, format version), and the
    sources of that build (its volume files are reused only when nothing changed)."""
    if full or edition.current_export_id is None:
        return {}, {}
    sources = (ExportBuild.objects.filter(pk=edition.current_export_id)
               .values_list("sources", flat=True).first())
    rows = ExportFile.objects.filter(build_id=edition.current_export_id).values_list(
        "pk", "format", "document_id", "revision", "format_version")
    return {tuple(key): pk for pk, *key in rows}, sources


def _copy_rows(ids: list[int], build: ExportBuild) -> None:
    """Give `build` rows naming the same files as rows `ids`, copied inside the database: a
    400-document volume shares some 2,000 of them from one build to the next."""
    table = connection.ops.quote_name(ExportFile._meta.db_table)
    columns = "format, document_id, revision, name, size, sha256, format_version"
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            cursor.execute(
                f"INSERT INTO {table} (build_id, {columns}) SELECT %s, {columns} FROM {table} "
                f"WHERE id IN ({', '.join(['%s'] * len(chunk))})", [build.pk, *chunk])


def _write(build: ExportBuild, fmt: Format, version: int, part: Part | None,
           data: bytes) -> ExportFile:
    stem = part.xml_id if part else build.edition.slug
    # Each build writes under its own folder: nothing a reader may be downloading is touched.
    name = storage().save(f"{build.edition.slug}/{build.pk}/{stem}.{fmt.extension}",
                          ContentFile(data))
    return ExportFile(build=build, format=fmt.name, name=name, size=len(data),
                      sha256=hashlib.sha256(data).hexdigest(), format_version=version,
                      document=part.document if part else None,
                      revision=part.revision.number if part else None)


class _Heartbeat:
    """Tells the sweep this build's worker is alive, and notices being taken over."""

    def __init__(self, build: ExportBuild) -> None:
        self.build, self.last = build, time.monotonic()

    def __call__(self) -> None:
        if time.monotonic() - self.last < HEARTBEAT_SECONDS:
            return
        self.last = time.monotonic()
        alive = ExportBuild.objects.filter(pk=self.build.pk, status=Status.BUILDING).update(
            heartbeat_at=timezone.now())
        if not alive:
            raise Superseded


def _switch(build: ExportBuild, files: list[ExportFile], reused: list[int]) -> None:
    with transaction.atomic():
        # The build's row lock orders this against a takeover in _claim. The edition row is
        # touched only by the last statement: approvals update it while holding their
        # document's lock, and this transaction's foreign-key checks on documents are made
        # before it (check_constraints), so neither waits for the other while holding a lock
        # the other needs.
        if not ExportBuild.objects.select_for_update().filter(
                pk=build.pk, status=Status.BUILDING).exists():
            raise Superseded  # another worker took over: its build is the one that counts
        ExportFile.objects.bulk_create(files, batch_size=500)
        _copy_rows(reused, build)
        connection.check_constraints(table_names=[ExportFile._meta.db_table])
        ExportBuild.objects.filter(pk=build.pk).update(
            status=Status.COMPLETE, finished_at=timezone.now(), rendered=build.rendered,
            reused=build.reused)
        Edition.objects.filter(pk=build.edition_id).update(current_export=build)
    log.info("exports of %s: build %s complete (%d document files rendered, %d reused)",
             build.edition.slug, build.pk, build.rendered, build.reused)


def _fail(build: ExportBuild, exc: BaseException) -> None:
    """Record the failure; its requests go back to pending for the retry (or the sweep)."""
    with transaction.atomic():
        ExportBuild.objects.filter(pk=build.pk, status=Status.BUILDING).update(
            status=Status.FAILED, finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}"[:2000])
        ExportRequest.objects.filter(build=build).update(build=None)


# -- the periodic sweep ---------------------------------------------------------------------


def editions_needing_a_build() -> list[int]:
    """Editions with requests no build has taken (a lost message, a failed build) or with a
    build whose worker stopped."""
    stale = timezone.now() - timedelta(seconds=settings.EMEND_EXPORT_STALE_SECONDS)
    pending = set(ExportRequest.objects.filter(build=None).values_list("edition_id", flat=True))
    abandoned = set(ExportBuild.objects.filter(status=Status.BUILDING, heartbeat_at__lt=stale)
                    .values_list("edition_id", flat=True))
    return sorted(pending | abandoned)


def prune() -> int:
    """Delete builds older than EMEND_EXPORT_KEEP_DAYS (never an edition's current one) and
    failed ones older than a day, with the files no remaining build names."""
    now = timezone.now()
    current = Edition.objects.exclude(current_export=None).values_list("current_export_id",
                                                                       flat=True)
    old = ExportBuild.objects.exclude(pk__in=list(current)).filter(
        Q(started_at__lt=now - timedelta(days=settings.EMEND_EXPORT_KEEP_DAYS))
        | Q(status=Status.FAILED, started_at__lt=now - timedelta(days=1)))
    doomed = list(old.values_list("pk", flat=True))
    if not doomed:
        return 0
    names = set(ExportFile.objects.filter(build_id__in=doomed).values_list("name", flat=True))
    kept = set(ExportFile.objects.filter(name__in=names).exclude(build_id__in=doomed)
               .values_list("name", flat=True))
    ExportBuild.objects.filter(pk__in=doomed).delete()
    for name in names - kept:
        storage().delete(name)
    return len(doomed)


# -- reading ----------------------------------------------------------------------------------


@dataclass
class State:
    """What the status panel shows."""

    current: ExportBuild | None
    running: ExportBuild | None
    failed: ExportBuild | None  # the newest build, when it failed and requests still wait
    pending: int

    @property
    def busy(self) -> bool:
        return bool(self.running or self.pending)


def state(edition: Edition) -> State:
    current = (ExportBuild.objects.filter(pk=edition.current_export_id).first()
               if edition.current_export_id else None)
    running = ExportBuild.objects.filter(edition=edition, status=Status.BUILDING).first()
    pending = ExportRequest.objects.filter(edition=edition, build=None).count()
    newest = ExportBuild.objects.filter(edition=edition).exclude(status=Status.BUILDING).first()
    failed = newest if newest and newest.status == Status.FAILED and pending else None
    return State(current, running, failed, pending)
