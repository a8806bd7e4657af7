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
import itertools
import json
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import NamedTuple

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, storages
from django.db import connection, transaction
from django.utils._os import safe_makedirs
from django.db.models import Exists, Max, Min, OuterRef, Q
from django.utils import timezone

from ..models import Document, Edition, ExportBuild, ExportFile, ExportRequest
from ..rendering import RENDER_VERSION
from . import sources
from . import formats
from .formats import Format
from .sources import Part, Volume, load_volume

log = logging.getLogger(__name__)
Status = ExportBuild.Status
# Ended without switching: their files are discarded and they are pruned after a day.
UNFINISHED = (Status.FAILED, Status.ABANDONED)
HEARTBEAT_SECONDS = 2.0


class Superseded(Exception):
    """This build was taken over (its worker was presumed dead): its files are not used."""


def storage():
    return storages["exports"]


def request_export(edition: Edition, reason: str, *, full: bool = False) -> None:
    """Ask for the edition's exports to be rebuilt once the current transaction commits."""
    from ..tasks import send_build_exports

    groups = formats.enabled_groups()
    ExportRequest.objects.bulk_create(  # one INSERT for every group
        ExportRequest(edition=edition, group=group, reason=reason[:300], full=full)
        for group in groups)
    # The delay lets a burst of approvals land before the build starts: one build for all
    # (and one message for all: `send_build_exports`). After the commit, so the task finds
    # the request.
    edition_id, countdown = edition.pk, settings.EMEND_EXPORT_DEBOUNCE_SECONDS
    for group in groups:
        transaction.on_commit(lambda group=group: send_build_exports(edition_id, group,
                                                                     countdown))


def settle_in(edition_id: int, group: str) -> float:
    """Seconds to wait while approvals keep arriving (0: build now): until no request came for
    DEBOUNCE seconds, or the oldest waiting one is MAX_WAIT old. A burst of approvals then
    makes a build every MAX_WAIT seconds at most, however long it lasts; a lone approval waits
    DEBOUNCE seconds. The task does not sleep that long (it would hold one of the worker's
    processes, which warm the pages readers wait for): it sends itself again for then."""
    debounce = timedelta(seconds=settings.EMEND_EXPORT_DEBOUNCE_SECONDS)
    max_wait = timedelta(seconds=settings.EMEND_EXPORT_MAX_WAIT_SECONDS)
    pending = ExportRequest.objects.filter(edition_id=edition_id, group=group, build=None)
    span = pending.aggregate(oldest=Min("created_at"), newest=Max("created_at"))
    now = timezone.now()
    if span["newest"] is None or now - span["newest"] >= debounce \
            or now - span["oldest"] >= max_wait:
        return 0.0
    # A little past the moment, so the message that arrives then finds it passed.
    return min((span["newest"] + debounce - now).total_seconds(),
               (span["oldest"] + max_wait - now).total_seconds()) + 0.01


class Result(StrEnum):
    """How `run` ended (a string: the Celery task returns it)."""

    BUILT = "built"
    IDLE = "idle"  # nothing pending
    BUSY = "busy"  # another worker is building
    GONE = "gone"  # the edition was deleted


@dataclass
class Outcome:
    status: Result
    builds: list[ExportBuild]


def run(edition_id: int, group: str | None = None, *, settle: bool = False) -> Outcome:
    """Build the edition's exports of `group` (every group if None) while requests are
    pending. Idempotent: with nothing pending it does nothing, so a duplicate or redelivered
    message is harmless. `settle` (the task): after a build, the requests that arrived during
    it are built at once only if they have settled (`settle_in`); otherwise they are left
    pending for the task to send itself again for then."""
    if group is None:
        outcomes = [run(edition_id, g) for g in formats.enabled_groups()]
        statuses = [o.status for o in outcomes]
        status = next((s for s in (Result.BUILT, Result.BUSY, Result.GONE) if s in statuses),
                      Result.IDLE)
        return Outcome(status, [b for o in outcomes for b in o.builds])
    if group not in formats.enabled_groups():
        # EMEND_EXPORT_FORMATS leaves these formats out: nothing will build them.
        ExportRequest.objects.filter(edition_id=edition_id, group=group, build=None).delete()
        return Outcome(Result.IDLE, [])
    built: list[ExportBuild] = []
    while True:
        if built and settle and settle_in(edition_id, group) > 0:
            return Outcome(Result.BUILT, built)
        claim = _claim(edition_id, group)
        if isinstance(claim, Result):
            return Outcome(Result.BUILT if built and claim is Result.IDLE else claim, built)
        build, full = claim
        try:
            _build(build, full=full)
        except Superseded:
            _discard_files(build)
            return Outcome(Result.BUSY, built)
        except BaseException as exc:
            _fail(build, exc)
            _discard_files(build)
            raise
        built.append(build)


def _claim(edition_id: int, group: str) -> tuple[ExportBuild, bool] | Result:
    now = timezone.now()
    with transaction.atomic():
        # The edition row lock makes claiming exclusive: two workers never build one edition.
        # FOR NO KEY UPDATE, not FOR UPDATE: an approval inserting its ExportRequest takes a
        # KEY SHARE lock on the edition while holding its document's lock, and the switch
        # inserts ExportFile rows referencing documents; FOR UPDATE would deadlock the two.
        # Without its skeleton: a claim that finds nothing pending must not read a megabyte.
        edition = (Edition.objects.without_tei().select_for_update(no_key=True)
                   .filter(pk=edition_id).first())
        if edition is None:
            return Result.GONE
        running = ExportBuild.objects.filter(edition=edition, group=group,
                                             status=Status.BUILDING).first()
        abandoned = None
        if running is not None:
            stale = now - timedelta(seconds=settings.EMEND_EXPORT_STALE_SECONDS)
            # Conditional: if its worker beat or switched meanwhile, it is alive after all.
            taken = ExportBuild.objects.filter(
                pk=running.pk, status=Status.BUILDING, heartbeat_at__lt=stale).update(
                status=Status.ABANDONED, finished_at=now,
                error=(f"The worker building it stopped (no sign of life since "
                       f"{running.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC); taken over."))
            if not taken:
                return Result.BUSY  # it takes whatever arrives meanwhile when it finishes
            ExportRequest.objects.filter(build=running).update(build=None)
            abandoned = running
            log.warning("export build %s of %s abandoned; taking over", running.pk, edition.slug)
        pending = ExportRequest.objects.filter(edition=edition, group=group, build=None)
        ids = list(pending.values_list("pk", flat=True))
        if not ids:
            return Result.IDLE
        full = pending.filter(full=True).exists()
        build = ExportBuild.objects.create(edition=edition, group=group)
        ExportRequest.objects.filter(pk__in=ids).update(build=build)
    if abandoned is not None:
        _discard_files(abandoned)
    return build, full


def _build(build: ExportBuild, *, full: bool) -> None:
    edition = build.edition
    vol = load_volume(edition)
    build.sources = vol.sources()
    build.fingerprint = _fingerprint(edition, build.group)
    build.save(update_fields=["sources", "fingerprint"])
    previous, previous_sources = _reusable_files(edition, build.group, build.fingerprint,
                                                 full=full)
    files = _Spool()  # written by this build
    reused: list[int] = []  # rows of the current build whose files this build shares
    enabled = [(fmt, getattr(fmt.module, "VERSION", 1)) for fmt in formats.enabled(build.group)]
    # `full`: no file of the previous build is reused. The pieces are read from the fragment
    # store still: a stored piece's key holds everything it depends on, so it is the same
    # text a renderer would make (rebuild_exports --rerender empties the edition's store).
    left_out: list[str] = []  # "d142: why", for the build's report
    with _Heartbeat(build) as beat, sources.storing(vol.parts, apart=True):
        # Document by document, every format of it while its tree is parsed: each revision is
        # parsed (and its text layer built) once per build, not once per format.
        kept: list[Part] = []
        dropped: list[Part] = []
        for part in vol.parts:
            mine: list[Written] = []
            shared: list[int] = []
            problem, checked = None, False
            for fmt, version in enabled:
                old = previous.get((fmt.name, part.document.pk, part.revision.number, version))
                if old is not None:
                    shared.append(old)
                    continue
                # One unit the gate would refuse (an import only warns) or that a renderer
                # fails on is left out of this build and named in its report: it must not
                # fail every file of the volume. Checked before rendering: past the limit,
                # the volume's PDF may fail where the unit's own files did not.
                if not checked:
                    problem, checked = _too_deep(part), True
                if problem is None:
                    single = Volume(edition, [part], built_at=vol.built_at, whole=False,
                                    urls=vol.urls)
                    try:
                        mine.append(_write(build, fmt, version, part, fmt.document(single, part)))
                    except Exception as exc:  # RecursionError included: any renderer's failure
                        log.warning("export build %s leaves out %s: its %s file fails: %r",
                                    build.pk, part.xml_id, fmt.name, exc,
                                    exc_info=not isinstance(exc, RecursionError))
                        label = (fmt.label[0].lower() + fmt.label[1:]
                                 if fmt.label[1:2].islower() else fmt.label)  # "plain text"
                        problem = f"its {label} file cannot be made: {_reason(exc)}"
                if problem is not None:
                    break
            if problem is None:
                kept.append(part)
                reused += shared
                build.reused += len(shared)
                for written in mine:
                    files.append(written)
                build.rendered += len(mine)
            else:
                left_out.append(f"{part.xml_id}: {problem}")
                dropped.append(part)
                for written in mine:  # none of its files: a reader finds none rather than some
                    storage().delete(written.name)
            part.release()  # its pieces are in the store now, for the volume's files
            beat()
        if left_out:
            log.warning("export build %s of %s leaves out %s", build.pk, edition.slug,
                        "; ".join(left_out))
            build.error = _left_out_report(left_out)
            vol = Volume(edition, kept, built_at=vol.built_at, whole=vol.whole, urls=vol.urls,
                         left_out=tuple(dropped))
            # What its downloads name as their sources is what they hold. It is also what the
            # next build compares to reuse the volume's files: a unit left out this time and
            # rendered the next (a passing failure) makes the volume's files anew.
            build.sources = vol.sources()
            build.save(update_fields=["sources"])
        for fmt, version in enabled:
            old = previous.get((fmt.name, None, None, version))
            if old is not None and previous_sources == build.sources and not left_out:
                reused.append(old)
            else:
                files.append(_write(build, fmt, version, None, fmt.volume_chunks(vol)))
                for part in vol.parts:
                    part.release()
            beat()
    _switch(build, files, reused)


def _too_deep(part: Part) -> str | None:
    from ..gate import depth_problem  # the gate imports the exports' modules

    return depth_problem(part.revision.element)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "its markup is nested too deeply (RecursionError)"
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def _left_out_report(left_out: list[str]) -> str:
    return (f"Left out of this build (the rest of the volume is complete): "
            f"{'; '.join(left_out)}")[:10_000]


def _fingerprint(edition: Edition, group: str) -> str:
    """What the files depend on besides revisions: another value means nothing is reused."""
    pieces = [settings.EMEND_SITE_URL, edition.tei_header, edition.tei_skeleton,
              f"render:{RENDER_VERSION}",
              # Which units a build leaves out (`_too_deep`) depends on it.
              f"depth:{settings.EMEND_MAX_TEI_DEPTH}",
              *(f"{f.name}:{getattr(f.module, 'VERSION', 1)}" for f in formats.enabled(group)),
              # What a format reads besides its own code (html: the site's document.css).
              *(f.module.fingerprint() for f in formats.enabled(group)
                if hasattr(f.module, "fingerprint")),
              # What a format reads of the edition besides revisions (tei: uploaded scans).
              *(f.module.edition_fingerprint(edition) for f in formats.enabled(group)
                if hasattr(f.module, "edition_fingerprint"))]
    return hashlib.sha256("\x1f".join(pieces).encode()).hexdigest()


def _reusable_files(edition: Edition, group: str, fingerprint: str, *,
                    full: bool) -> tuple[dict[tuple, int], dict]:
    """The current build's file rows by (format, document, revision, format version), and the
    sources of that build (its volume files are reused only when nothing changed)."""
    current = (ExportBuild.objects.filter(edition=edition, group=group, current=True)
               .values_list("pk", "sources", "fingerprint").first())
    if full or current is None or current[2] != fingerprint:
        return {}, {}
    current_id, sources, _ = current
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


class Written(NamedTuple):
    """A file this build wrote: an ExportFile row once the build switches (tens of thousands
    of them wait for the switch, so not as model instances)."""

    format: str
    document_id: int | None
    revision: int | None
    name: str
    size: int
    sha256: str
    format_version: int

    def row(self, build: ExportBuild) -> ExportFile:
        return ExportFile(build=build, **self._asdict())


def _write(build: ExportBuild, fmt: Format, version: int, part: Part | None,
           data: bytes | Iterable[bytes]) -> Written:
    """Store one file of the build: `data` whole, or a volume's chunks, spooled to a temporary
    file on the way (a volume's file is never whole in memory)."""
    stem = part.xml_id if part else build.edition.slug
    # Each build writes under its own folder: nothing a reader may be downloading is touched.
    path = f"{build.edition.slug}/{build.pk}/{stem}.{fmt.extension}"
    digest = hashlib.sha256()
    written = _write_directly(path, data, digest)
    if written is not None:
        name, size = path, written
    elif isinstance(data, bytes):
        digest.update(data)
        size, name = len(data), storage().save(path, ContentFile(data))
    else:
        with tempfile.TemporaryFile() as spool:
            for chunk in data:
                digest.update(chunk)
                spool.write(chunk)
            size = spool.tell()
            spool.seek(0)
            name = storage().save(path, File(spool))
    return Written(fmt.name, part.document.pk if part else None,
                   part.revision.number if part else None, name, size, digest.hexdigest(),
                   version)


# The storage's absolute path of a build's folder, by the storage's location and the folder's
# name (which holds the build's id): one small entry a build.
_directories: dict[tuple[str, str], str] = {}
# A file name `_write_directly` writes as it is: what FileSystemStorage would keep unchanged.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")


def _write_directly(path: str, data: bytes | Iterable[bytes], digest) -> int | None:
    """Write a build's file into the local file system storage itself, as its `save` would
    (a new file, never over another; its permission modes), without what `save` costs per
    file that a build's own fresh folder does not need: finding a free name (two `lstat`s),
    re-validating the name, locking, a spool for the volume's chunks. None: not written
    (another storage, a name `save` may change, a file already there), for `save` to do."""
    store = storage()
    folder, _, filename = path.rpartition("/")
    if type(store) is not FileSystemStorage or not _PLAIN_NAME.fullmatch(filename):
        return None
    place = (store.base_location, folder)
    directory = _directories.get(place)
    if directory is None:  # `path` (a safe join, an abspath, a normcase) once per folder
        if len(_directories) >= 64:  # a build writes into a few folders; a worker lives long
            _directories.clear()
        directory = _directories[place] = store.path(folder)
    full = os.path.join(directory, filename)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(full, flags, 0o666)
    except FileNotFoundError:  # the build's first file: its folder is made as `save` makes it
        directory = os.path.dirname(full)
        if store.directory_permissions_mode is not None:
            safe_makedirs(directory, store.directory_permissions_mode, exist_ok=True)
        else:
            os.makedirs(directory, exist_ok=True)
        fd = os.open(full, flags, 0o666)
    except FileExistsError:
        return None
    if isinstance(data, bytes):
        # A document's file, whole: written straight to the descriptor, its mode set on it,
        # without a buffered file object around it (a stat and a seek less, per file).
        try:
            digest.update(data)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if store.file_permissions_mode is not None:
                _chmod(fd, full, store.file_permissions_mode)
        finally:
            os.close(fd)
        return len(data)
    size = 0
    with os.fdopen(fd, "wb") as out:  # a volume's chunks, many of them small: buffered
        for chunk in data:
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
        if store.file_permissions_mode is not None:
            _chmod(out.fileno(), full, store.file_permissions_mode)
    return size


def _chmod(fd: int, path: str, mode: int) -> None:
    """The mode `save` gives a file, set through its open descriptor where the system can."""
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    else:
        os.chmod(path, mode)


class _Heartbeat:
    """Tells the sweep this build's worker is alive, and notices being taken over.

    A thread beats every HEARTBEAT_SECONDS, so one long step (a volume PDF: minutes inside
    WeasyPrint) does not look like a dead worker. Inside a transaction (a test's) another
    connection could not see the build, so the build's own thread beats between files instead.
    """

    def __init__(self, build: ExportBuild) -> None:
        self.build, self.last = build, time.monotonic()
        self.superseded = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "_Heartbeat":
        if not connection.in_atomic_block:
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name=f"export-heartbeat-{self.build.pk}")
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def __call__(self) -> None:
        """Between two files, on the build's own thread."""
        if self.superseded:
            raise Superseded
        if self._thread is None and time.monotonic() - self.last >= HEARTBEAT_SECONDS:
            self.last = time.monotonic()
            if not self._touch():
                raise Superseded

    def _run(self) -> None:
        try:
            while not self._stop.wait(HEARTBEAT_SECONDS):
                try:
                    if not self._touch():
                        self.superseded = True
                        return
                except Exception:  # a database hiccup: the next beat tries again
                    log.warning("export heartbeat of build %s failed", self.build.pk,
                                exc_info=True)
        finally:
            connection.close()  # this thread's own connection

    def _touch(self) -> bool:
        return bool(ExportBuild.objects.filter(pk=self.build.pk, status=Status.BUILDING)
                    .update(heartbeat_at=timezone.now()))


def _discard_files(build: ExportBuild) -> None:
    """Delete what a build that will never be current wrote (its own folder: only a build
    that switched has files other builds may name)."""
    folder = f"{build.edition.slug}/{build.pk}"
    try:
        _, names = storage().listdir(folder)
    except (FileNotFoundError, NotImplementedError):
        return
    for name in names:
        try:
            storage().delete(f"{folder}/{name}")
        except OSError:
            log.warning("could not delete %s/%s", folder, name, exc_info=True)


class _Spool:
    """The files a build wrote, until the switch: the first MEMORY of them in memory (a few MB
    at most), the rest on disk, one JSON line each — a full build of a 50,000-unit volume
    writes 250,000 of them, some 80 MB as tuples in memory. A volume of a few thousand units
    never touches the disk (writing and reading the lines took some 40 ms of a 400-unit build
    from stored pieces)."""

    MEMORY = 20_000

    def __init__(self) -> None:
        self.rows: list[Written] = []
        self.file = None

    def append(self, written: Written) -> None:
        if self.file is None and len(self.rows) < self.MEMORY:
            self.rows.append(written)
            return
        if self.file is None:
            self.file = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self.file.write(json.dumps(written) + "\n")

    def batches(self, size: int) -> Iterator[list[Written]]:
        rows, self.rows = self.rows, []
        for start in range(0, len(rows), size):
            yield rows[start:start + size]
        if self.file is None:
            return
        self.file.seek(0)
        lines = (Written(*json.loads(line)) for line in self.file)
        while batch := list(itertools.islice(lines, size)):
            yield batch
        self.file.close()


def _switch(build: ExportBuild, files: _Spool, reused: list[int]) -> None:
    with transaction.atomic():
        # The build's row lock orders this against a takeover in _claim. The edition row is
        # not locked here: approvals update it while holding their document's lock, and this
        # transaction checks foreign keys to documents (made immediate by check_constraints,
        # so not at COMMIT behind other locks); locking both ways round would deadlock.
        if not ExportBuild.objects.select_for_update().filter(
                pk=build.pk, status=Status.BUILDING).exists():
            raise Superseded  # another worker took over: its build is the one that counts
        _insert_rows(files, build)
        _copy_rows(reused, build)
        connection.check_constraints(table_names=[ExportFile._meta.db_table])
        ExportBuild.objects.filter(edition_id=build.edition_id, group=build.group,
                                   current=True).update(current=False,
                                                        superseded_at=timezone.now())
        ExportBuild.objects.filter(pk=build.pk).update(
            status=Status.COMPLETE, finished_at=timezone.now(), rendered=build.rendered,
            reused=build.reused, current=True, error=build.error)
        # The exports page shows the current builds (edition/pagecache.py, exports stamp).
        Document.retire([Edition.exports_key(build.edition.slug)])
    log.info("exports of %s: build %s complete (%d document files rendered, %d reused)",
             build.edition.slug, build.pk, build.rendered, build.reused)


def _insert_rows(files: _Spool, build: ExportBuild) -> None:
    """The rows of the files `build` wrote. On PostgreSQL through COPY: `bulk_create` sends
    its rows as arrays, which psycopg quotes in Python (a fifth of a second for 800 rows)."""
    if connection.vendor != "postgresql":
        for batch in files.batches(500):
            ExportFile.objects.bulk_create([f.row(build) for f in batch])
        return
    columns = ["build_id", *Written._fields]
    table = connection.ops.quote_name(ExportFile._meta.db_table)
    with connection.cursor() as cursor, cursor.copy(
            f"COPY {table} ({', '.join(connection.ops.quote_name(c) for c in columns)}) "
            "FROM STDIN") as copy:
        for batch in files.batches(500):
            for written in batch:
                copy.write_row((build.pk, *written))


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
    # A group whose build just failed is being retried by Celery with backoff; re-sending it
    # every sweep would hammer a document the renderer cannot handle.
    failing = set(ExportBuild.objects.filter(
        status=Status.FAILED, finished_at__gt=timezone.now() - timedelta(minutes=5))
        .values_list("edition_id", "group"))
    return sorted((pending - failing) | abandoned)


def prune() -> int:
    """Delete builds older than EMEND_EXPORT_KEEP_DAYS (never an edition's current one) and
    failed ones older than a day, with the files no remaining build names."""
    now = timezone.now()
    keep = now - timedelta(days=settings.EMEND_EXPORT_KEEP_DAYS)
    # Kept for KEEP_DAYS after a newer build replaced them: their addresses may be cited.
    old = ExportBuild.objects.filter(
        Q(status=Status.COMPLETE, current=False, superseded_at__lt=keep)
        | Q(status__in=UNFINISHED, started_at__lt=now - timedelta(days=1)))
    doomed = list(old.values_list("pk", flat=True))
    prune_fragments()
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


def prune_fragments() -> int:
    """Delete stored pieces of revisions that are no longer current (an older revision's
    export is rebuilt from its TEI if it is ever asked for again), kept EMEND_EXPORT_KEEP_DAYS
    after they were stored: a build or an approval in flight may be about to read them."""
    from ..models import ExportFragment, Revision

    old = timezone.now() - timedelta(days=settings.EMEND_EXPORT_KEEP_DAYS)
    current = Revision.objects.filter(current_of__edition_id=OuterRef("edition_id"),
                                      checksum=OuterRef("checksum"))
    deleted, _ = (ExportFragment.objects.filter(created_at__lt=old)
                  .exclude(Exists(current)).delete())
    return deleted


# -- reading ----------------------------------------------------------------------------------


@dataclass
class State:
    """What the status panel shows for one group of formats."""

    group: str
    label: str
    current: ExportBuild | None
    running: ExportBuild | None
    failed: ExportBuild | None  # the newest build, when it ended unfinished and requests wait
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
        failed = newest if newest and newest.status in UNFINISHED and pending else None
        result.append(State(group, formats.GROUPS[group], current.get(group), running, failed,
                            pending))
    return result
