"""Export builds: the outbox, coalescing, incremental files and the atomic switch.

Each group of formats (formats.GROUPS: "text", the quick ones; "print", the PDF) has its own
requests, builds and current build, so the minutes a volume PDF takes never delay the rest.

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


def request_export(edition: Edition, reason: str, *, full: bool = False) -> None:
    """Ask for the edition's exports to be rebuilt once the current transaction commits."""
    from ..tasks import build_exports, enqueue_on_commit

    for group in formats.enabled_groups():
        ExportRequest.objects.create(edition=edition, group=group, reason=reason[:300],
                                     full=full)
        # The delay lets a burst of approvals land before the build starts: one build for all.
        enqueue_on_commit(build_exports, edition.pk, group,
                          countdown=settings.EMEND_EXPORT_DEBOUNCE_SECONDS)


@dataclass
class Outcome:
    status: str  # built, idle (nothing pending), busy (another worker is building), gone
    builds: list[ExportBuild]


def run(edition_id: int, group: str | None = None) -> Outcome:
    """Build the edition's exports of `group` (every group if None) while requests are
    pending. Idempotent: with nothing pending it does nothing, so a duplicate or redelivered
    message is harmless."""
    if group is None:
        outcomes = [run(edition_id, g) for g in formats.enabled_groups()]
        statuses = [o.status for o in outcomes]
        status = next((s for s in ("built", "busy", "gone") if s in statuses), "idle")
        return Outcome(status, [b for o in outcomes for b in o.builds])
    if group not in formats.enabled_groups():
        # EMEND_EXPORT_FORMATS leaves these formats out: nothing will build them.
        ExportRequest.objects.filter(edition_id=edition_id, group=group, build=None).delete()
        return Outcome("idle", [])
    built: list[ExportBuild] = []
    while True:
        claim = _claim(edition_id, group)
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


def _claim(edition_id: int, group: str) -> tuple[ExportBuild, bool] | str:
    now = timezone.now()
    with transaction.atomic():
        # The edition row lock makes claiming exclusive: two workers never build one edition.
        # FOR NO KEY UPDATE, not FOR UPDATE: an approval inserting its ExportRequest takes a
        # KEY SHARE lock on the edition while holding its document's lock, and the switch
        # inserts ExportFile rows referencing documents; FOR UPDATE would deadlock the two.
        edition = Edition.objects.select_for_update(no_key=True).filter(pk=edition_id).first()
        if edition is None:
            return "gone"
        running = ExportBuild.objects.filter(edition=edition, group=group,
                                             status=Status.BUILDING).first()
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
        pending = ExportRequest.objects.filter(edition=edition, group=group, build=None)
        ids = list(pending.values_list("pk", flat=True))
        if not ids:
            return "idle"
        full = pending.filter(full=True).exists()
        build = ExportBuild.objects.create(edition=edition, group=group)
        ExportRequest.objects.filter(pk__in=ids).update(build=build)
    return build, full


def _build(build: ExportBuild, *, full: bool) -> None:
    edition = build.edition
    vol = load_volume(edition)
    build.sources = vol.sources()
    build.save(update_fields=["sources"])
    previous, previous_sources = _reusable_files(edition, build.group, full=full)
    files: list[ExportFile] = []  # written by this build
    reused: list[int] = []  # rows of the current build whose files this build shares
    beat = _Heartbeat(build)
    with sources.refreshing(full):
        for fmt in formats.enabled(build.group):
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


def _reusable_files(edition: Edition, group: str, *,
                    full: bool) -> tuple[dict[tuple, int], dict]:
    """The current build's file rows by (format, document, revision, format version), and the
    sources of that build (its volume files are reused only when nothing changed)."""
    current = (ExportBuild.objects.filter(edition=edition, group=group, current=True)
               .values_list("pk", "sources").first())
    if full or current is None:
        return {}, {}
    current_id, sources = current
    rows = ExportFile.objects.filter(build_id=current_id).values_list(
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
        # not locked here: approvals update it while holding their document's lock, and this
        # transaction checks foreign keys to documents (made immediate by check_constraints,
        # so not at COMMIT behind other locks); locking both ways round would deadlock.
        if not ExportBuild.objects.select_for_update().filter(
                pk=build.pk, status=Status.BUILDING).exists():
            raise Superseded  # another worker took over: its build is the one that counts
        ExportFile.objects.bulk_create(files, batch_size=500)
        _copy_rows(reused, build)
        connection.check_constraints(table_names=[ExportFile._meta.db_table])
        ExportBuild.objects.filter(edition_id=build.edition_id, group=build.group,
                                   current=True).update(current=False)
        ExportBuild.objects.filter(pk=build.pk).update(
            status=Status.COMPLETE, finished_at=timezone.now(), rendered=build.rendered,
            reused=build.reused, current=True)
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


def editions_needing_a_build() -> list[tuple[int, str]]:
    """(edition, group) with requests no build has taken (a lost message, a failed build) or
    with a build whose worker stopped."""
    stale = timezone.now() - timedelta(seconds=settings.EMEND_EXPORT_STALE_SECONDS)
    pending = set(ExportRequest.objects.filter(build=None).values_list("edition_id", "group"))
    abandoned = set(ExportBuild.objects.filter(status=Status.BUILDING, heartbeat_at__lt=stale)
                    .values_list("edition_id", "group"))
    return sorted(pending | abandoned)


def prune() -> int:
    """Delete builds older than EMEND_EXPORT_KEEP_DAYS (never an edition's current one) and
    failed ones older than a day, with the files no remaining build names."""
    now = timezone.now()
    old = ExportBuild.objects.filter(current=False).filter(
        Q(started_at__lt=now - timedelta(days=settings.EMEND_EXPORT_KEEP_DAYS))
        | Q(status=Status.FAILED, started_at__lt=now - timedelta(days=1)))
    doomed = list(old.values_list("pk", flat=True))
    if not doomed:
        return 0
    names = set(ExportFile.objects.filter(build_id__in=doomed).values_list("name", flat=True))
    kept = set(ExportFile.objects.filter(name__in=names).exclude(build_id__in=doomed)
               .values_list("name", flat=True))
    # Their requests were served: deleted, not left to SET_NULL back into pending.
    ExportRequest.objects.filter(build_id__in=doomed).delete()
    ExportBuild.objects.filter(pk__in=doomed).delete()
    for name in names - kept:
        storage().delete(name)
    return len(doomed)


# -- reading ----------------------------------------------------------------------------------


@dataclass
class State:
    """What the status panel shows for one group of formats."""

    group: str
    label: str
    current: ExportBuild | None
    running: ExportBuild | None
    failed: ExportBuild | None  # the newest build, when it failed and requests still wait
    pending: int

    @property
    def busy(self) -> bool:
        return bool(self.running or self.pending)


def current_builds(edition: Edition) -> dict[str, ExportBuild]:
    """Group → the build readers download now."""
    return {b.group: b for b in ExportBuild.objects.filter(edition=edition, current=True)}


def states(edition: Edition) -> list[State]:
    current = current_builds(edition)
    result = []
    for group in formats.enabled_groups():
        builds = ExportBuild.objects.filter(edition=edition, group=group)
        running = builds.filter(status=Status.BUILDING).first()
        pending = ExportRequest.objects.filter(edition=edition, group=group, build=None).count()
        newest = builds.exclude(status=Status.BUILDING).first()
        failed = newest if newest and newest.status == Status.FAILED and pending else None
        result.append(State(group, formats.GROUPS[group], current.get(group), running, failed,
                            pending))
    return result
