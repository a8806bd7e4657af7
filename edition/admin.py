"""Admin: editions and memberships are editable; history (revisions) is read-only."""

from django import forms
from django.contrib import admin

from . import pages, tasks
from .models import Document, Edition, FacsimileUpload, Membership, Revision


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


FACSIMILE_FIELDS = ("facsimile_url", "facsimile_full_url", "facsimile_hosts")


class EditionForm(forms.ModelForm):
    """The page image settings (issue 11) checked as the pages will use them: a pattern with
    fields other than {volume}, {facs} and {n}, or not an http(s) address, would break every
    page's image; hosts are bare host names."""

    class Meta:
        model = Edition
        fields = "__all__"

    def _pattern(self, name: str) -> str:
        pattern = (self.cleaned_data.get(name) or "").strip()
        if not pattern:
            return ""
        try:
            example = pattern.format(volume="v", facs="0001", n="1")
        except (KeyError, IndexError, ValueError, AttributeError) as exc:
            raise forms.ValidationError(
                f"Use only {{volume}}, {{facs}} and {{n}} (the pattern says {exc})") from None
        if not pages._origin(example):
            raise forms.ValidationError("An http:// or https:// address, with its host")
        return pattern

    def clean_facsimile_url(self) -> str:
        return self._pattern("facsimile_url")

    def clean_facsimile_full_url(self) -> str:
        return self._pattern("facsimile_full_url")

    def clean_facsimile_hosts(self) -> list[str]:
        hosts = self.cleaned_data.get("facsimile_hosts") or []
        if not isinstance(hosts, list) or not all(
                isinstance(h, str) and h and pages._origin(f"https://{h}/") == f"https://{h}"
                for h in hosts):
            raise forms.ValidationError(
                'A list of host names, e.g. ["static.history.state.gov"]')
        return hosts


@admin.register(Edition)
class EditionAdmin(admin.ModelAdmin):
    form = EditionForm
    list_display = ["slug", "title", "pub_date"]
    search_fields = ["slug", "title"]
    readonly_fields = ["tei_header", "tei_skeleton", "contents_version", "created_at",
                       "updated_at"]
    inlines = [MembershipInline]

    def get_fieldsets(self, request, obj=None):
        others = [f for f in self.get_fields(request, obj) if f not in FACSIMILE_FIELDS]
        return [(None, {"fields": others}),
                ("Page images", {"fields": FACSIMILE_FIELDS, "description":
                 "Where the images of a volume without a TEI &lt;facsimile&gt; are, and "
                 "which hosts the server may fetch them from for OCR. Uploaded scans "
                 "(manage.py import_facsimile) replace them page by page."})]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        obj.touch()  # cached pages show the edition's metadata and links: retire them
        if set(FACSIMILE_FIELDS) & set(form.changed_data):
            pages.forget_origins(obj.slug)
            # Every page's address follows the pattern: the rows again, in the worker.
            tasks.enqueue_on_commit(tasks.sync_pages, obj.pk)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class RevisionInline(admin.TabularInline):
    model = Revision
    fk_name = "document"
    fields = ["number", "summary", "author", "created_at", "checksum"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["xml_id", "number", "title", "edition", "date_min"]
    list_filter = ["edition"]
    search_fields = ["xml_id", "title"]
    list_select_related = ["edition"]
    # Documents change only through revisions: the current one is not picked by hand.
    readonly_fields = ["edition", "xml_id", "current_revision"]
    inlines = [RevisionInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Revision)
class RevisionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "summary", "author", "created_at"]
    list_filter = ["document__edition"]
    list_select_related = ["document", "author"]
    search_fields = ["document__xml_id", "summary"]
    fields = ["document", "number", "parent", "summary", "author", "created_at", "checksum",
              "change", "text", "tei"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # Viewing stays allowed (has_view_permission); saving never is.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "edition", "role"]
    list_filter = ["edition", "role"]
    autocomplete_fields = ["user"]


@admin.register(FacsimileUpload)
class FacsimileUploadAdmin(admin.ModelAdmin):
    """The import_facsimile runs, to read (they are made by the command, not here)."""

    list_display = ["edition", "source_name", "status", "done", "failed", "total",
                    "created_at", "finished_at"]
    list_filter = ["edition", "status"]
    fields = ["edition", "source_name", "status", "total", "done", "failed", "error",
              "created_by", "created_at", "finished_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
