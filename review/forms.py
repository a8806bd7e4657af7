"""Forms of the review pages: queue filters, decisions and comments, re-targeting."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone

from .models import Change, Proposal

ANY_STATUS = "all"


class ProposalFilterForm(forms.Form):
    """Filters shared by the queue and "my proposals"; invalid values are ignored, not fatal."""

    edition = forms.ChoiceField(required=False)
    document = forms.CharField(required=False, max_length=100, label="Document",
                               help_text="Its id, e.g. d143")
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *Change.Kind.choices])
    author = forms.CharField(required=False, max_length=150, label="Author",
                             help_text="A user name")
    status = forms.ChoiceField(
        required=False, choices=[*Proposal.Status.choices, (ANY_STATUS, "Any status")])
    older_than = forms.IntegerField(required=False, min_value=1, max_value=36500,
                                    label="Older than (days)")

    def __init__(self, data, *, editions, default_status: str, with_author: bool = True):
        if data is not None and not data.get("status"):
            # The select shows the status the page lists, not its first option.
            data = data.copy()
            data["status"] = default_status
        super().__init__(data)
        self.default_status = default_status
        self.fields["edition"].choices = [("", "All editions")] + [
            (e.slug, e.short_title) for e in editions]
        if not with_author:
            del self.fields["author"]

    def value(self, name: str):
        """The cleaned value of a filter, or its default when it is missing or invalid."""
        if not self.is_bound:
            return None
        cleaned = getattr(self, "cleaned_data", {})
        return cleaned.get(name) or None

    @property
    def chosen_status(self) -> str:
        self.is_valid()
        return self.value("status") or self.default_status

    def filter(self, queryset):
        """Every filter but the status: the page counts statuses over this queryset."""
        self.is_valid()
        if edition := self.value("edition"):
            queryset = queryset.filter(document__edition__slug=edition)
        if document := self.value("document"):
            queryset = queryset.filter(document__xml_id=document.strip())
        if kind := self.value("kind"):
            # A subquery, not a join: a proposal with two changes of one kind stays one row.
            queryset = queryset.filter(
                pk__in=Change.objects.filter(kind=kind).values("proposal_id"))
        if author := self.value("author"):
            queryset = queryset.filter(author__username=author.strip())
        if days := self.value("older_than"):
            queryset = queryset.filter(created_at__lte=timezone.now() - timedelta(days=days))
        return queryset

    def filter_status(self, queryset):
        status = self.chosen_status
        return queryset if status == ANY_STATUS else queryset.filter(status=status)


class ReasonForm(forms.Form):
    """Reject or ask for changes: the author is told why, so a reason is required."""

    # Lengths are the actions' rule (EMEND_MAX_RATIONALE_CHARS, review.actions.check_prose_length).
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Give a reason: the author is told why."})


class CommentForm(forms.Form):
    body = forms.CharField(label="Comment",
                           widget=forms.Textarea(attrs={"rows": 3}),
                           error_messages={"required": "The comment is empty."})


# (quote label, content label) for each kind of change.
_LABELS = {
    Change.Kind.TEXT: ("Text to replace", "Replacement"),
    Change.Kind.NOTE_ADD: ("Words the footnote follows", "Footnote (TEI inline markup)"),
    Change.Kind.NOTE_EDIT: ("", "New footnote text (TEI inline markup)"),
    Change.Kind.NOTE_REMOVE: ("", ""),
    Change.Kind.STRUCTURE: (
        ("Text of the blocks to replace (for an insertion: the start of the block to insert "
         "before)"),
        "New blocks (TEI)",
    ),
    Change.Kind.METADATA: ("", "The document's attributes (JSON: name → ISO 8601 date-time)"),
    Change.Kind.MARKUP: ("Words to mark up",
                         "The markup (JSON: operation, element, attributes)"),
}


class RetargetChangeForm(forms.Form):
    """One change of a proposal, placed again by quote on the current revision."""

    NEEDS_QUOTE = (Change.Kind.TEXT, Change.Kind.NOTE_ADD, Change.Kind.STRUCTURE,
                   Change.Kind.MARKUP)
    NEEDS_NOTE = (Change.Kind.NOTE_EDIT, Change.Kind.NOTE_REMOVE)

    quote = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 2}))
    content = forms.CharField(required=False, strip=False,
                              widget=forms.Textarea(attrs={"rows": 3}))
    note_id = forms.ChoiceField(required=False, label="Footnote")

    def __init__(self, *args, kind: str, notes=(), **kwargs):
        # The kind comes from the stored change, never from the post: re-targeting moves a
        # change, it does not turn a text correction into a structural fix.
        super().__init__(*args, **kwargs)
        self.kind = kind
        quote_label, content_label = _LABELS[kind]
        if kind in self.NEEDS_QUOTE:
            self.fields["quote"].label = quote_label
        else:
            del self.fields["quote"]
        if kind == Change.Kind.NOTE_REMOVE:
            del self.fields["content"]
        else:
            self.fields["content"].label = content_label
        if kind in self.NEEDS_NOTE:
            self.fields["note_id"].choices = [("", "—")] + list(notes)
        else:
            del self.fields["note_id"]

    def clean(self):
        data = super().clean()
        for name in ("quote", "content"):
            if isinstance(data.get(name), str):  # browsers send CRLF; the text layer has LF
                data[name] = data[name].replace("\r\n", "\n")
        if "quote" in self.fields and not data.get("quote"):
            self.add_error("quote", "Quote the text in the current revision.")
        if "note_id" in self.fields and not data.get("note_id"):
            self.add_error("note_id", "Choose the footnote.")
        if self.kind != Change.Kind.TEXT and "content" in self.fields and not (
                data.get("content") or "").strip():
            self.add_error("content", "This cannot be empty.")
        return data


class RationaleForm(forms.Form):
    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}),
                                error_messages={"required": "Say why the text should change."})
