"""Guided structural fixes: a form per common repair, and where its TEI goes in a revision.

The TEI comes from `edition.tei.guided`; this module chooses the blocks a repair replaces (or
the block it is inserted before) and returns the `ChangeSpec` that `actions.propose` stores.
"""

from __future__ import annotations

from django import forms
from lxml import etree

from edition.models import Revision
from edition.tei import edits, guided, local_name
from edition.tei.selectors import Quote, QuoteAmbiguous, QuoteNotFound, place_quote
from edition.tei.textlayer import build

from .actions.propose import ChangeSpec
from .models import Change

STRUCTURE = Change.Kind.STRUCTURE
FIRST_WORDS = 60


class FixError(ValueError):
    """Why a repair cannot be placed on this revision, for the person."""


def _blocks(revision: Revision) -> list[tuple[etree._Element, int, int]]:
    """The document's top-level blocks that hold text, with their spans."""
    return [(element, a, b) for element, (a, b) in edits.child_spans(revision.element,
                                                                      revision.layer)
            if a is not None]


def _replacing(revision: Revision, start: int, end: int, content: str) -> ChangeSpec:
    return ChangeSpec(STRUCTURE, start, end, content, exact=revision.text[start:end])


def _inserting_after(revision: Revision, names: list[tuple[str, str | None]],
                     content: str) -> ChangeSpec:
    """Insert after the last block that is one of `names` ((element, type) pairs), else after
    the heading: before the block that follows, or at the end."""
    blocks = _blocks(revision)
    after = None
    for index, (element, _, _) in enumerate(blocks):
        if any(local_name(element) == name and (kind is None or element.get("type") == kind)
               for name, kind in names):
            after = index
    at = blocks[after + 1][1] if after is not None and after + 1 < len(blocks) else (
        len(revision.text) if after is not None else (blocks[0][1] if blocks else 0))
    return ChangeSpec(STRUCTURE, at, at, content, exact="")


def _find(revision: Revision, name: str, kind: str | None = None):
    return next(((e, a, b) for e, a, b in _blocks(revision)
                 if local_name(e) == name and (kind is None or e.get("type") == kind)), None)


def _place_words(text: str, words: str) -> int:
    words = " ".join(words.split())
    try:
        return place_quote(text, Quote(words, "", ""))
    except QuoteNotFound:
        raise FixError(f"“{words[:80]}” does not occur in the text: copy the words as the "
                       "document reads now.") from None
    except QuoteAmbiguous as exc:
        raise FixError(f"“{words[:80]}” occurs {len(exc.candidates)} times: type a few more "
                       "words so that it occurs once.") from None


def paragraph_choices(revision: Revision, *, followed_by_p: bool = False) -> list[tuple]:
    """(start offset, "¶ 2: first words…") for each paragraph (that a paragraph follows)."""
    children = [c for c in revision.element if isinstance(c.tag, str)]
    choices, number = [], 0
    for element, a, b in _blocks(revision):
        if local_name(element) != "p":
            continue
        number += 1
        if followed_by_p:
            following = children[children.index(element) + 1:]
            if not following or local_name(following[0]) != "p":
                continue
        words = revision.text[a:b]
        label = words if len(words) <= FIRST_WORDS else words[:FIRST_WORDS].rsplit(" ", 1)[0] + "…"
        choices.append((str(a), f"¶ {number}: {label}"))
    return choices


def _paragraph_at(revision: Revision, start: int):
    found = next(((e, a, b) for e, a, b in _blocks(revision) if a == start), None)
    if found is None or local_name(found[0]) != "p":
        raise FixError("Choose a paragraph of the document as it reads now.")
    return found


# ------------------------------------------------------------------------------------------
# The forms: each cleans its fields and places its change on a revision


class FixForm(forms.Form):
    title = ""
    intro = ""
    rationale = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Why (rationale)",
        help_text="Required to propose; reviewers read it.")

    def __init__(self, *args, revision: Revision, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.revision = revision
        self.fields["rationale"] = self.fields.pop("rationale")  # last, before the buttons

    def change(self) -> ChangeSpec:  # pragma: no cover - every repair defines it
        raise NotImplementedError


class DatelineForm(FixForm):
    title = "Add or correct the dateline"
    intro = ("Place, day and (if the source gives them) times. The dateline is written as FRUS "
             "writes it: the place, then the date, with the instants as attributes.")
    place = forms.CharField(max_length=200, help_text="As printed, e.g. “Washington”.")
    day = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}),
                          help_text="YYYY-MM-DD")
    start = forms.TimeField(required=False, label="Start time",
                            widget=forms.TimeInput(attrs={"type": "time"}),
                            help_text="24-hour clock, e.g. 15:30; leave empty for a day.")
    end = forms.TimeField(required=False, label="End time",
                          widget=forms.TimeInput(attrs={"type": "time"}),
                          help_text="For a meeting that spans hours.")
    utc_offset = forms.CharField(required=False, max_length=6, label="UTC offset",
                                 help_text="Needed with times: “-05:00” for Washington in "
                                           "winter, “+09:00” for Tokyo.")
    written = forms.CharField(required=False, max_length=200, label="Date as printed",
                              help_text="Leave empty to write it FRUS's way: “January 19, "
                                        "1960, 3:30–5:30 p.m.”.")
    paragraph = forms.ChoiceField(
        required=False, label="A paragraph that is the dateline",
        help_text="When the dateline was imported as a paragraph, choose it: it is replaced.")

    def __init__(self, *args, revision: Revision, **kwargs) -> None:
        super().__init__(*args, revision=revision, **kwargs)
        self.fields["paragraph"].choices = [
            ("", "None: the dateline goes after the heading, or replaces the dateline there")
        ] + paragraph_choices(revision)
        existing = _find(revision, "opener") or _find(revision, "dateline")
        if existing is not None and not self.is_bound:  # the dateline as it is, to correct
            place = existing[0].find(".//{*}placeName")
            when = existing[0].find(".//{*}date")
            if place is not None:
                self.initial["place"] = " ".join(build(place).text.split())
            day = when.get("when") or when.get("from") or "" if when is not None else ""
            self.initial["day"] = day[:10]
            if len(day) > 10:
                self.initial["start"] = day[11:16]
                self.initial["utc_offset"] = day[19:]
            if when is not None and when.get("to"):
                self.initial["end"] = when.get("to")[11:16]

    def change(self) -> ChangeSpec:
        d = self.cleaned_data
        content = guided.dateline(d["place"], d["day"], d["start"], d["end"],
                                  utc_offset=d["utc_offset"].strip(), written=d["written"])
        if d["paragraph"]:
            _, a, b = _paragraph_at(self.revision, int(d["paragraph"]))
            return _replacing(self.revision, a, b, content)
        existing = _find(self.revision, "opener") or _find(self.revision, "dateline")
        if existing:
            return _replacing(self.revision, existing[1], existing[2], content)
        return _inserting_after(self.revision, [("head", None)], content)


class _ListForm(FixForm):
    kind = ""
    entries = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), label="Entries",
                              help_text="One a line. The list replaces the document's list, "
                                        "if it has one; markup inside entries is not kept.")

    def __init__(self, *args, revision: Revision, **kwargs) -> None:
        super().__init__(*args, revision=revision, **kwargs)
        existing = _find(revision, "list", self.kind)
        if existing is not None and not self.is_bound:
            items = existing[0].findall("{*}item")
            self.initial["entries"] = "\n".join(" ".join(build(item).text.split())
                                                for item in items)

    def change(self) -> ChangeSpec:
        content = guided.heading_list(self.kind, guided.lines_of(self.cleaned_data["entries"]))
        existing = _find(self.revision, "list", self.kind)
        if existing:
            return _replacing(self.revision, existing[1], existing[2], content)
        after = [("head", None), ("opener", None), ("dateline", None)]
        if self.kind == "participants":
            after.append(("list", "subject"))
        return _inserting_after(self.revision, after, content)


class SubjectForm(_ListForm):
    title = "Add or correct the SUBJECT list"
    intro = "One subject a line."
    kind = "subject"


class ParticipantsForm(_ListForm):
    title = "Add or correct the PARTICIPANTS list"
    intro = "One participant a line, as printed (“Prime Minister Kishi”)."
    kind = "participants"


class CloserForm(FixForm):
    title = "Add the closer and signature"
    intro = "The signature at the end of the document, as printed."
    salute = forms.CharField(required=False, max_length=200, label="Salutation",
                             help_text="Optional, e.g. “Sincerely yours,”.")
    signed = forms.CharField(max_length=200, label="Signature", help_text="e.g. “Herter”.")
    replace_last = forms.BooleanField(
        required=False, label="The last paragraph is the signature: replace it")

    def change(self) -> ChangeSpec:
        d = self.cleaned_data
        content = guided.closer(d["signed"], d["salute"])
        existing = _find(self.revision, "closer")
        if existing:
            return _replacing(self.revision, existing[1], existing[2], content)
        blocks = _blocks(self.revision)
        if d["replace_last"]:
            element, a, b = blocks[-1]
            if local_name(element) != "p":
                raise FixError("The last block is not a paragraph.")
            return _replacing(self.revision, a, b, content)
        end = len(self.revision.text)
        return ChangeSpec(STRUCTURE, end, end, content, exact="")


class PageBreakForm(FixForm):
    title = "Add a page break"
    intro = ("Where a printed page begins: after the words you type (the last words of the "
             "page before).")
    number = forms.CharField(max_length=10, label="Page number", help_text="e.g. “278”.")
    facs = forms.CharField(max_length=40, label="Facsimile id",
                           help_text="The page image's id, e.g. “0308”.")
    after = forms.CharField(max_length=300, label="After the words",
                            help_text="The words the page break follows, as the document reads.")

    def change(self) -> ChangeSpec:
        d, text = self.cleaned_data, self.revision.text
        end = _place_words(text, d["after"]) + len(" ".join(d["after"].split()))
        blocks = _blocks(self.revision)
        holder = next(((e, a, b) for e, a, b in blocks if a <= end <= b), None)
        if holder is None:
            raise FixError("No block of the document holds these words.")
        element, a, b = holder
        if end == b:  # between blocks: a pb of its own before the next one
            following = [x for x in blocks if x[1] > b]
            at = following[0][1] if following else len(text)
            return ChangeSpec(STRUCTURE, at, at, guided.page_break(d["number"], d["facs"]),
                              exact="")
        content = guided.with_page_break(element, end - a, d["number"], d["facs"])
        return _replacing(self.revision, a, b, content)


class SplitForm(FixForm):
    title = "Split a paragraph"
    intro = "Choose the paragraph and type the words the new paragraph begins with."
    paragraph = forms.ChoiceField(label="Paragraph")
    before = forms.CharField(max_length=300, label="Split before the words",
                             help_text="The first words of the new paragraph.")

    def __init__(self, *args, revision: Revision, **kwargs) -> None:
        super().__init__(*args, revision=revision, **kwargs)
        self.fields["paragraph"].choices = paragraph_choices(revision)

    def change(self) -> ChangeSpec:
        element, a, b = _paragraph_at(self.revision, int(self.cleaned_data["paragraph"]))
        offset = _place_words(self.revision.text[a:b], self.cleaned_data["before"])
        return _replacing(self.revision, a, b, guided.split_paragraph(element, offset))


class MergeForm(FixForm):
    title = "Merge two paragraphs"
    intro = "Choose the first paragraph: the one after it is joined to it."
    paragraph = forms.ChoiceField(label="First paragraph")

    def __init__(self, *args, revision: Revision, **kwargs) -> None:
        super().__init__(*args, revision=revision, **kwargs)
        self.fields["paragraph"].choices = paragraph_choices(revision, followed_by_p=True)

    def change(self) -> ChangeSpec:
        first, a, _ = _paragraph_at(self.revision, int(self.cleaned_data["paragraph"]))
        blocks = _blocks(self.revision)
        index = next(i for i, (e, _, _) in enumerate(blocks) if e is first)
        children = [c for c in self.revision.element if isinstance(c.tag, str)]
        following = children[children.index(first) + 1:]
        if not following or local_name(following[0]) != "p" or index + 1 >= len(blocks):
            raise FixError("The block after this paragraph is not a paragraph.")
        second, _, b = blocks[index + 1]
        return _replacing(self.revision, a, b, guided.merge_paragraphs(first, second))


REPAIRS: dict[str, type[FixForm]] = {
    "dateline": DatelineForm,
    "subject": SubjectForm,
    "participants": ParticipantsForm,
    "closer": CloserForm,
    "page-break": PageBreakForm,
    "split": SplitForm,
    "merge": MergeForm,
}
# For links and the pages' own menu: (repair, title), in the order above.
REPAIR_TITLES = [(repair, form.title) for repair, form in REPAIRS.items()]
