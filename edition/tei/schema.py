"""Is a document valid? TEI P5 (`tei_all.rng`) for its TEI, and the project's own rules for its
`frus:` attributes, which tei_all does not know.

libxml2 takes 15–35 s to compile the whole of tei_all, holding the GIL all along: a web worker
doing it would stop answering. So a grammar is compiled per *set of element names*: tei_all with
the pattern of every other TEI element replaced by `notAllowed`, and any remaining element
allowed as the root (a document `div` is then validated as it stands, without a TEI wrapper).
RELAX NG has no negation, so removing patterns only removes documents; and in a valid document
each element is matched by the pattern of its own name, never by one of the removed ones. For a
document using only those elements the verdict is therefore tei_all's exactly
(tests/edition/test_gate.py compares the two). The set is `BASE` plus whatever else a document
uses, so one grammar serves nearly every FRUS document; one compiles in about 0.2 s and is kept
for the life of the process, and validates an ordinary document in under a millisecond.

libxml2's own messages name the outermost element it gave up on ("Element div has extra content:
p"), so a refusal goes looking for the innermost element that is invalid on its own, and for a
child without which it would be valid, and names them with the words they begin with.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import threading
from collections import OrderedDict
from functools import cache
from pathlib import Path

from lxml import etree

from . import FRUS_NS, TEI_NS, local_name, tei
from .edits import ALLOWED

_RNG = "{http://relaxng.org/ns/structure/1.0}"
# The elements of FRUS documents, and everything a proposal may submit (edits.ALLOWED).
BASE = frozenset(ALLOWED) | {
    "div", "head", "p", "ab", "list", "item", "label", "opener", "closer", "dateline",
    "salute", "signed", "postscript", "byline", "docAuthor", "docDate", "epigraph",
    "argument", "trailer", "quote", "q", "said", "lg", "l", "table", "row", "cell", "figure",
    "figDesc", "graphic", "floatingText", "address", "addrLine", "bibl", "listBibl", "title",
    "note", "pb", "lb", "cb", "fw", "hi", "emph", "foreign", "term", "gloss", "name",
    "persName", "placeName", "geogName", "orgName", "rs", "date", "time", "num", "ref", "ptr",
    "seg", "choice", "sic", "corr", "abbr", "expan", "orig", "reg", "add", "del", "gap",
    "unclear", "supplied", "space", "idno", "affiliation", "roleName",
}
# The frus: attributes Emend knows, and the FRUS form of their values: a date-time with its UTC
# offset (FRUS writes -05:00, never Z), so any two compare.
FRUS_ATTRIBUTES = frozenset({"doc-dateTime-min", "doc-dateTime-max"})
FRUS_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d")
_FRUS = f"{{{FRUS_NS}}}"
# FRUS's ODD adds frus:attachment, a division of its own inside a document; tei_all knows its
# content as a div's.
_FRUS_DIVISIONS = frozenset({"attachment"})
# The elements (the div itself included) in the frus: namespace or carrying one of its attributes.
_FRUS_MARKED = etree.XPath(
    "descendant-or-self::*[namespace-uri() = $ns or @*[namespace-uri() = $ns]]")
_INVALID_ATTRIBUTE = re.compile(r"Invalid attribute (\S+) for element")
_MISSING = re.compile(r"Expecting an element ?(\S*), got nothing")
_MAX_TRIALS = 64  # children tried one at a time to say which one is out of place


# FRUS prints nothing outside these years; a date such as 0001-01-01T00:00:00+05:00 cannot
# even be shown in UTC, and would break every page that lists it.
EARLIEST_YEAR, LATEST_YEAR = 1600, 2100


class DateOutOfRange(ValueError):
    """A well-formed date-time outside EARLIEST_YEAR–LATEST_YEAR."""


def frus_datetime(value: str) -> dt.datetime:
    """A `frus:doc-dateTime-*` value as an aware date-time; ValueError saying what is wrong
    (DateOutOfRange for a year outside EARLIEST_YEAR–LATEST_YEAR)."""
    if FRUS_DATETIME.fullmatch(value.strip()):
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = None  # the form is right but the date is not: 1960-02-30
        if parsed is not None:
            if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
                raise DateOutOfRange(f"“{value}” is outside the years {EARLIEST_YEAR}–"
                                     f"{LATEST_YEAR} that a document may be dated")
            return parsed
    raise ValueError(f"“{value}” is not a date-time with its UTC offset, such as "
                     "1960-01-19T15:30:00-05:00")


def frus_problems(div: etree._Element) -> list[str]:
    """What breaks the project's rules for the `frus:` namespace: unknown attributes or elements,
    date-times not in the FRUS form, a minimum after its maximum."""
    problems = []
    for element in div.iter(etree.Element):
        if element.tag.startswith(_FRUS) and local_name(element) not in _FRUS_DIVISIONS:
            problems.append(f"<frus:{local_name(element)}> is not an element Emend knows")
        dates = {}
        for name, value in element.attrib.items():
            if not name.startswith(_FRUS):
                continue
            name = name[len(_FRUS):]
            if name not in FRUS_ATTRIBUTES:
                problems.append(f"frus:{name} is not an attribute Emend knows (it knows "
                                f"{', '.join('frus:' + a for a in sorted(FRUS_ATTRIBUTES))})")
                continue
            try:
                dates[name] = frus_datetime(value)
            except ValueError as exc:
                problems.append(f"frus:{name}: {exc}")
        low, high = dates.get("doc-dateTime-min"), dates.get("doc-dateTime-max")
        if low and high and low > high:
            problems.append(f"frus:doc-dateTime-min ({low.isoformat()}) is after "
                            f"frus:doc-dateTime-max ({high.isoformat()})")
    return problems


class Schema:
    """tei_all, compiled one set of element names at a time (see the module's docstring).
    Thread-safe: libxml2 keeps a validator's errors on the validator."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._grammar: etree._ElementTree | None = None
        self._compiled: OrderedDict[frozenset[str], etree.RelaxNG] = OrderedDict()
        self._lock = threading.Lock()

    def problem(self, div: etree._Element) -> str | None:
        """Why the document `div` is not valid TEI P5, in words for its editors; None if it is.
        The `frus:` namespace is left to `frus_problems`."""
        div = _as_tei(div)
        names = frozenset(local_name(e) for e in div.iter(f"{{{TEI_NS}}}*"))
        with self._lock:
            relaxng = self._relaxng(BASE if names <= BASE else BASE | names)
            if relaxng.validate(div):
                return None
            return _explain(relaxng, div)

    def _relaxng(self, names: frozenset[str]) -> etree.RelaxNG:
        relaxng = self._compiled.get(names)
        if relaxng is None:
            if self._grammar is None:
                self._grammar = etree.parse(str(self.path))
            relaxng = etree.RelaxNG(_pruned(self._grammar, names))
            self._compiled[names] = relaxng
            while len(self._compiled) > 16:  # documents with unusual elements: rare
                self._compiled.popitem(last=False)
        self._compiled.move_to_end(names)
        return relaxng


@cache
def schema_at(path: Path) -> Schema:
    """The process's one `Schema` for the grammar at `path`."""
    return Schema(path)


def _pruned(grammar: etree._ElementTree, names: frozenset[str]) -> etree._ElementTree:
    """tei_all with only the TEI elements `names`, any of them allowed as the root."""
    pruned = copy.deepcopy(grammar)
    root = pruned.getroot()
    for pattern in list(root.iter(_RNG + "element")):
        name = pattern.get("name")
        if name and name not in names and pattern.get("ns") in (None, TEI_NS):
            _replace(pattern, "notAllowed")
    start = root.find(_RNG + "start")
    for child in list(start):
        start.remove(child)
    roots = etree.SubElement(start, _RNG + "choice")
    for define in root.iterchildren(_RNG + "define"):
        pattern = define.find(_RNG + "element")
        if pattern is not None and pattern.get("name") in names and pattern.get("ns") in (
                None, TEI_NS):
            etree.SubElement(roots, _RNG + "ref", name=define.get("name"))
    _drop_not_allowed(root)
    return pruned


def _drop_not_allowed(root: etree._Element) -> None:
    """Take `notAllowed` out of choices, as RELAX NG's own simplification does (§4.19): libxml2
    compiles a content model holding one into nothing faster than a walk of the grammar, and
    validating a document then takes 9 ms instead of 0.3 ms."""
    defines = [d for d in root.iterchildren(_RNG + "define")]
    changed = True
    while changed:
        changed = False
        dead = {d.get("name") for d in defines if any(map(_not_allowed, _patterns(d)))}
        for ref in list(root.iter(_RNG + "ref")):
            if ref.get("name") in dead:
                _replace(ref, "notAllowed")
                changed = True
        for choice in list(root.iter(_RNG + "choice")):
            options = _patterns(choice)
            if choice.getparent() is None or not any(map(_not_allowed, options)):
                continue
            changed = True
            if all(map(_not_allowed, options)):
                _replace(choice, "notAllowed")
            else:
                for option in filter(_not_allowed, options):
                    choice.remove(option)
        for tag, becomes in _WITH_NOT_ALLOWED.items():
            for pattern in list(root.iter(_RNG + tag)):
                if pattern.getparent() is not None and any(map(_not_allowed, _patterns(pattern))):
                    _replace(pattern, becomes)
                    changed = True


# A pattern holding notAllowed (its children are a group) is notAllowed, or empty if optional.
_WITH_NOT_ALLOWED = {"group": "notAllowed", "interleave": "notAllowed", "mixed": "notAllowed",
                     "oneOrMore": "notAllowed", "list": "notAllowed",
                     "attribute": "notAllowed", "element": "notAllowed",
                     "zeroOrMore": "empty", "optional": "empty"}


def _patterns(element: etree._Element) -> list[etree._Element]:
    return [c for c in element if isinstance(c.tag, str) and c.tag.startswith(_RNG)]


def _not_allowed(pattern: etree._Element) -> bool:
    return pattern.tag == _RNG + "notAllowed"


def _replace(pattern: etree._Element, tag: str) -> None:
    replacement = etree.Element(_RNG + tag)
    replacement.tail = pattern.tail
    pattern.getparent().replace(pattern, replacement)


def _as_tei(div: etree._Element) -> etree._Element:
    """A copy without the frus: namespace, which tei_all does not know: its attributes dropped,
    its divisions made TEI divs."""
    div = copy.deepcopy(div)
    for element in _FRUS_MARKED(div, ns=FRUS_NS):  # not every element: the few with frus:
        if element.tag.startswith(_FRUS) and local_name(element) in _FRUS_DIVISIONS:
            element.tag = tei("div")
        for name in [n for n in element.attrib if n.startswith(_FRUS)]:
            del element.attrib[name]
    return div


def _explain(relaxng: etree.RelaxNG, root: etree._Element) -> str:
    """The innermost invalid element, libxml2's reason, and a child it would be valid without."""
    culprit = root
    while True:
        child = next((c for c in culprit.iterchildren(etree.Element)
                      if not relaxng.validate(c)), None)
        if child is None:
            break
        culprit = child
    relaxng.validate(culprit)
    errors = [e.message for e in relaxng.error_log]
    reason = errors[0] if errors else "not valid"
    if match := _INVALID_ATTRIBUTE.match(reason):
        reason += f" ({match[1]}=“{culprit.get(match[1])}”)"
    elif match := _MISSING.match(reason):  # libxml2 leaves the name out of pruned grammars
        reason = f"an element it must hold is missing{f' (<{match[1]}>)' if match[1] else ''}"
    where = "the document" if culprit is root else _describe(culprit, root)
    message = f"not valid TEI: in {where}: {reason}"
    without = _out_of_place(relaxng, culprit)
    if without:
        message += "; it would be valid without " + " or without ".join(
            _describe(c, culprit, inside=False) for c in without)
    return message


def _out_of_place(relaxng: etree.RelaxNG, element: etree._Element) -> list[etree._Element]:
    """The children (at most two) without which `element` would be valid."""
    children = list(element.iterchildren(etree.Element))
    found = []
    for child in children[:_MAX_TRIALS] if len(children) <= _MAX_TRIALS else ():
        index = element.index(child)
        element.remove(child)  # its tail goes with it, and comes back with it
        try:
            if relaxng.validate(element):
                found.append(child)
        finally:
            element.insert(index, child)
    return found if len(found) <= 2 else []


def _describe(element: etree._Element, root: etree._Element, *, inside: bool = True) -> str:
    """“the <p> beginning “Foreign Minister…””, and the top-level block it is in."""
    text = " ".join("".join(element.itertext()).split())
    words = f" beginning “{text[:40]}{'…' if len(text) > 40 else ''}”" if text else " (empty)"
    described = f"the <{local_name(element)}>{words}"
    if inside:
        block = element
        while block.getparent() is not None and block.getparent() is not root:
            block = block.getparent()
        if block is not element and block.getparent() is root:
            described += f" in {_describe(block, root, inside=False)}"
    return described
