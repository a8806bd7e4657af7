"""Migration 0018 moves an upload's JSON list of pages to make into FacsimileItem rows, and back."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("edition", "0017_stuck_jobs")]
AFTER = [("edition", "0018_facsimile_item_rows")]
ITEMS = [{"page": 7, "name": "pages/x/a.pdf", "index": 0, "label": "[Page 1]", "done": True,
          "error": ""},
         {"page": 8, "name": "pages/x/a.pdf", "index": 1, "label": "[Page 2]", "done": False,
          "error": ""}]


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


def test_items_become_rows_and_back():
    try:
        apps = migrate(BEFORE)
        Edition = apps.get_model("edition", "Edition")
        edition = Edition.objects.create(slug="m-test", title="M")
        upload = apps.get_model("edition", "FacsimileUpload").objects.create(
            edition=edition, source_name="a.pdf", total=2, items=ITEMS)
        apps = migrate(AFTER)
        rows = list(apps.get_model("edition", "FacsimileItem").objects.filter(
            upload_id=upload.pk).order_by("position").values(
            "position", "page", "name", "index", "label", "done", "error"))
        assert rows == [{"position": i, **item} for i, item in enumerate(ITEMS)]
        apps = migrate(BEFORE)
        assert apps.get_model("edition", "FacsimileUpload").objects.get(
            pk=upload.pk).items == ITEMS
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("edition"))


def test_a_label_longer_than_the_column_is_cut_not_refused():
    # An old page label was "[Image {facs}]" with a facs of up to 100 characters: 108 in all.
    # PostgreSQL refuses a value longer than the column, which would stop the deploy.
    long = "[Image " + "f" * 100 + "]"
    try:
        apps = migrate(BEFORE)
        edition = apps.get_model("edition", "Edition").objects.create(slug="m-long", title="M")
        upload = apps.get_model("edition", "FacsimileUpload").objects.create(
            edition=edition, source_name="a.pdf", total=1, items=[{**ITEMS[0], "label": long}])
        apps = migrate(AFTER)
        [label] = apps.get_model("edition", "FacsimileItem").objects.filter(
            upload_id=upload.pk).values_list("label", flat=True)
        assert label == long[:100]
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("edition"))
