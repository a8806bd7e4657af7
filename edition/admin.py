"""Admin: editions and memberships are editable; history (revisions) is read-only."""

from django.contrib import admin

from .models import Document, Edition, Membership, Revision


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Edition)
class EditionAdmin(admin.ModelAdmin):
    list_display = ["slug", "title", "pub_date"]
    search_fields = ["slug", "title"]
    readonly_fields = ["tei_header", "tei_skeleton", "contents_version", "created_at",
                       "updated_at"]
    inlines = [MembershipInline]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        obj.touch()  # cached pages show the edition's metadata and links: retire them

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
