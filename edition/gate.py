"""The gate a revision passes before it is stored: an approval's result (refused: 409), what a
proposal would make of the current revision (refused: 422), a document being imported (reported).

The candidate's TEI must be valid TEI P5 (`tei.schema`: tei_all.rng at EMEND_TEI_SCHEMA, which
`make schema` installs), keep the project's rules for `frus:` attributes, and render through
everything that will read it: each export format's piece of a document (`Format.piece`: all of
a file that depends on the TEI; for the PDF, the HTML its pages are laid out from, not the
layout). The reading view is `render_html`, which the HTML export's piece runs with other links;
the site's plain text is the plain-text export's. One approved fragment a renderer cannot take
would otherwise break the document's page, that citable revision and every export build of the
edition until someone reverts it. A proposal's candidate may never be stored: its pieces stay in
a scratch cache. A candidate being stored (`keep`: an approval, an import) keeps its pieces in
the fragment store (`ExportFragment`, written in the approval's or import's transaction), where
the export build that follows finds them: the gate then costs the system no rendering the
exports would not have done anyway.

A problem the current revision already has (a volume imported as published) is not the
candidate's to answer for: `current` names that revision, and a candidate failing with the same
message as it is let through, so such a document stays editable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core import checks
from django.db import DatabaseError
from lxml import etree

from .exporting import sources
from .exporting.formats import FORMATS
from .exporting.sources import Part
from .models import Document, Revision
from .tei.parsing import TEIError, parse_document_div
from .tei.schema import Schema, frus_problems, schema_at
from .tei.textlayer import TextLayer

log = logging.getLogger(__name__)


class GateError(ValueError):
    """A revision that must not be stored, with a message for the reviewer and the author.
    `code`: "invalid-tei" (TEI P5 or the frus: rules), "too_deep" (nested past
    EMEND_MAX_TEI_DEPTH), "unrenderable" (a renderer fails on it), "no-schema" (tei_all.rng
    is not installed: nothing can be checked)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message, self.code = message, code


def check_candidate(tei: str, document: Document, *, number: int, current: str | None = None,
                    keep: bool = False, element: etree._Element | None = None,
                    like: Revision | None = None, render: bool = True,
                    source: tuple[etree._Element, TextLayer] | None = None,
                    limit_depth: bool = True) -> Revision | None:
    """Raise GateError unless `tei` may become revision `number` of `document` (which comes
    with its edition: no query is made). `current`: the TEI of the revision it replaces.
    `keep`: it is about to be stored; keep its rendered pieces for the exports. `element`:
    `tei` already parsed (a stored revision's tree); `like`: a revision of this very TEI whose
    derived values (tree, text layer, footnotes) the candidate takes (`Revision.reuse`).
    Returns the unsaved candidate revision with its parsed tree and text layer, for
    `Document.add_revision` to reuse (None when it failed the way the current revision already
    fails). `render=False`: the TEI checks only, none of the renderers (a volume's import,
    whose rendering the worker checks after the commit: `check_rendering`); returns None.
    `source`: the tree `tei` was serialised from and its text layer (an approval's result,
    whose layer checked the change): `tei` is still parsed, and the candidate takes `source`
    instead of the parsed tree only when both serialise to exactly `tei` (see `_check`), so
    its layer is not built a second time.
    `limit_depth=False`: not held to EMEND_MAX_TEI_DEPTH (a change to a unit already past it
    that nests it no deeper; set by this function itself)."""
    try:
        return _check(tei, document, number, keep=keep, element=element, like=like,
                      render=render, source=source, limit_depth=limit_depth)
    except GateError as refusal:
        if current is None or refusal.code == "no-schema":
            raise
        if refusal.code == "too_deep" and limit_depth:
            # A unit imported past the limit stays editable, and may be made shallower step by
            # step: only a change nesting it deeper than it is now is refused. The rest of the
            # gate still applies to it (and the builds leave it out while it is past the limit).
            try:
                now = nesting_depth(parse_document_div(current))
                after = nesting_depth(element if element is not None
                                      else parse_document_div(tei))
            except TEIError:
                raise refusal from None
            if after > now:
                raise
            return check_candidate(tei, document, number=number, current=current, keep=keep,
                                   element=element, like=like, render=render, source=source,
                                   limit_depth=False)
        try:
            _check(current, document, number - 1, keep=False, limit_depth=limit_depth)
        except GateError as already:
            if already.message == refusal.message:
                return None  # the current revision fails the same way: not this change's doing
        raise


def tei_schema() -> Schema:
    """TEI P5 tei_all, loaded once per process; GateError("no-schema") if it is not installed:
    an unchecked revision would be stored for good, so nothing is stored unchecked."""
    path = Path(settings.EMEND_TEI_SCHEMA)
    if not path.is_file():
        raise GateError(f"TEI P5 (tei_all.rng) is not installed at {path}, so no new revision "
                        "can be checked: run `make schema`", code="no-schema")
    return schema_at(path)


def schema_installed(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """A system check (`manage.py check`, runserver, migrate): say at once what `tei_schema`
    would otherwise say only at the first proposal."""
    path = Path(settings.EMEND_TEI_SCHEMA)
    if path.is_file():
        return []
    return [checks.Warning(f"TEI P5 (tei_all.rng) is not installed at {path}: every proposal "
                           "and approval will be refused until it is",
                           hint="run `make schema` (make run and make test do)",
                           id="emend.W001")]


def renderers() -> list[tuple[str, Callable[[Part], object]]]:
    """What renders a stored revision, by the name a refusal gives it."""
    return [(_READING_VIEW if name == "html" else f"the {_lower(fmt.label)} export",
             fmt.render_piece) for name, fmt in FORMATS.items()]


_READING_VIEW = "the reading view and the HTML export"  # both render_html


def _check(tei: str, document: Document, number: int, *, keep: bool,
           element: etree._Element | None = None, like: Revision | None = None,
           render: bool = True, source: tuple[etree._Element, TextLayer] | None = None,
           limit_depth: bool = True) -> Revision | None:
    try:
        element = parse_document_div(tei) if element is None else element
    except TEIError as exc:
        raise GateError(str(exc), code="invalid-tei") from exc
    too_deep = depth_problem(element) if limit_depth else None
    if too_deep:
        raise GateError(too_deep, code="too_deep")
    layer = None
    if source is not None and etree.tostring(source[0], encoding="unicode") == tei \
            == etree.tostring(element, encoding="unicode"):
        # The bytes are always parsed (0.05 ms for a document): the parser's own limits (depth,
        # size, a DOCTYPE) are part of the verdict, and a tree built in memory never met them.
        # The source and the parsed tree serialising to exactly these bytes (0.02 ms each),
        # the two hold the same elements, attributes, text and tails (lxml writes every one
        # of them, escaped), so the schema, the frus: rules and the renderers see the same
        # document in either: the source is taken, with the text layer that comes with it.
        element, layer = source
    problems = frus_problems(element)
    if problems:
        raise GateError("; ".join(problems), code="invalid-tei")
    problem = tei_schema().problem(element)
    if problem:
        raise GateError(problem, code="invalid-tei")
    # The tree just checked is the one rendered (no renderer changes the TEI it is given).
    if not render:
        return None  # nobody reuses the candidate: an import stores its own revision
    part = Part.candidate(document, tei, number=number, element=element, like=like)
    if layer is not None and "layer" not in part.revision.__dict__:
        part.revision.layer = layer  # the cached_property's slot
    _render(part, keep=keep)
    return part.revision


def nesting_depth(element: etree._Element) -> int:
    """How deep elements nest below `element` (its children are at depth 1), counted without
    recursion: the check must not fail the way the renderers it protects would."""
    depth = deepest = 0
    for event, _ in etree.iterwalk(element, events=("start", "end")):
        depth += 1 if event == "start" else -1
        deepest = max(deepest, depth)
    return deepest - 1  # the start of `element` itself counted one


@lru_cache(maxsize=4)
def _below(depth: int) -> etree.XPath:
    """The elements `depth` levels below the one it is asked of (its children are at 1), as
    `nesting_depth` counts them: elements only, never comments or processing instructions.
    libxml2 compiles and evaluates the path with a frame per step (it refuses paths of about
    5,000 steps: "Recursion limit exceeded"), so `depth_problem` asks it only up to XPATH_STEPS."""
    return etree.XPath("/".join(["*"] * depth))


# Paths of 4,000 steps were measured to work; this leaves libxml2 a wide margin.
XPATH_STEPS = 1000


def depth_problem(element: etree._Element) -> str | None:
    """The refusal of a unit nesting deeper than EMEND_MAX_TEI_DEPTH, or None. Checked before
    anything renders it: the renderers and WeasyPrint recurse per level, and a unit the gate's
    one-document render survives may still break the whole volume's PDF, where it sits deeper
    (tests/edition/test_depth_limit.py proves every export builds up to the limit)."""
    limit = settings.EMEND_MAX_TEI_DEPTH
    if limit + 1 <= XPATH_STEPS:
        if not _below(limit + 1)(element):
            return None  # nothing that deep: asked of libxml2, not walked in Python per element
        depth = nesting_depth(element)
    else:  # a limit set higher than libxml2's paths can ask: walked
        depth = nesting_depth(element)
        if depth <= limit:
            return None
    return (f"its elements nest {depth} levels deep, more than the {limit} every page and "
            f"export is proven to handle (EMEND_MAX_TEI_DEPTH): flatten the nested markup "
            f"(<hi> inside <hi>, lists or tables inside each other)")


def _render(part: Part, *, keep: bool) -> None:
    with sources.keeping() if keep else sources.scratch():
        for name, render in renderers():
            try:
                render(part)
            except DatabaseError:
                raise  # storing the pieces failed (exporting/sources.py): not the candidate's
            except Exception as exc:  # whatever it is, the page or the export would fail on it
                log.warning("%s fails on revision %s of %s: %r", name, part.revision.number,
                            part.xml_id, exc, exc_info=not isinstance(exc, RecursionError))
                raise GateError(f"{name} cannot be made from it: {_reason(exc)}",
                                code="unrenderable") from exc


def render_stored(document: Document, revision: Revision) -> None:
    """The gate's renderers on a stored revision (its TEI checked already), its pieces kept
    for the builds; GateError("unrenderable") names the first that fails, ("too_deep") one
    nested past EMEND_MAX_TEI_DEPTH, which a build leaves out whatever it renders."""
    too_deep = depth_problem(revision.element)
    if too_deep:
        raise GateError(too_deep, code="too_deep")
    _render(Part(document, revision), keep=True)


# Revisions read per query by `check_rendering`, and rendered in one transaction.
RENDER_CHUNK = 100


def check_rendering(revision_ids: list[int]) -> int:
    """The gate's renderers on revisions an import stored after the TEI checks alone (a
    volume: more than EMEND_IMPORT_RENDER_INLINE_UNITS), in the worker after the import's commit. Each
    revision still current is rendered in every format, its pieces kept for the builds as
    the import's gate would have kept them, and what fails becomes a "render" suggestion on
    its document (the import's report points at the suggestions page), replacing the open
    one an earlier run left. Safe to run twice or late; if it never runs, nothing is lost:
    a build renders a missing piece, and the page renders on its first reader. Returns how
    many revisions failed."""
    from django.db import transaction

    from .models import Edition, PendingRenderCheck, Suggestion
    from .ownparts import forget

    editions: dict[int, Edition] = {}
    failed = 0
    for start in range(0, len(revision_ids), RENDER_CHUNK):
        chunk = revision_ids[start:start + RENDER_CHUNK]
        revisions = (Revision.objects.filter(pk__in=chunk, current_of__isnull=False)
                     .select_related("document").order_by("pk"))
        with transaction.atomic(), sources.storing():
            found: dict[int, tuple[Revision, str]] = {}
            checked = []
            for revision in revisions:
                document = revision.document
                if document.edition_id not in editions:
                    editions[document.edition_id] = Edition.objects.without_tei().get(
                        pk=document.edition_id)
                document.edition = editions[document.edition_id]
                checked.append(document.pk)
                try:
                    # A stored revision's own values: the keys the builds will look for.
                    render_stored(document, revision)
                except GateError as exc:
                    found[document.pk] = (revision, f"{document.xml_id}: {exc.message}")
                revision.release()
            # Done (or no longer current: nothing left to check), in this chunk's transaction.
            PendingRenderCheck.objects.filter(revision_id__in=chunk).delete()
            render = Suggestion.objects.filter(document__in=checked,
                                               check_name=Suggestion.Check.RENDER)
            settled = set(render.settled().values_list("revision_id", "explanation"))
            render.open().delete()
            forget(checked)  # bulk_create sends no signal: a proposer's cached parts
            Suggestion.objects.bulk_create(
                Suggestion(document_id=pk, revision=revision, check_name=Suggestion.Check.RENDER,
                           change="", explanation=message)
                for pk, (revision, message) in found.items()
                if (revision.pk, message) not in settled)
            failed += len(found)
    return failed


def _lower(label: str) -> str:
    """"Plain text" → "plain text"; "HTML", "EPUB 3" stay."""
    return label[0].lower() + label[1:] if label[1:2].islower() else label


def _reason(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "its markup is nested too deeply (RecursionError)"
    return f"{type(exc).__name__}: {str(exc)[:300]}"
