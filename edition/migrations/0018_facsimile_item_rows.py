# An upload's pages to make move from a JSON list in its row (rewritten whole per page
# finished) to a row each (edition.models.FacsimileItem).

import django.db.models.deletion
from django.db import migrations, models

FIELDS = ("page", "name", "index", "label", "done", "error")


def to_rows(apps, schema_editor):
    FacsimileUpload = apps.get_model("edition", "FacsimileUpload")
    FacsimileItem = apps.get_model("edition", "FacsimileItem")
    for pk, items in FacsimileUpload.objects.values_list("pk", "items").iterator(chunk_size=20):
        FacsimileItem.objects.bulk_create(
            [FacsimileItem(upload_id=pk, position=position,
                           **{name: data.get(name, default) for name, default in (
                               ("page", 0), ("name", ""), ("index", None), ("label", ""),
                               ("done", False), ("error", ""))}
                           # An old item's label could pass the column's 100 ("[Image …]" of
                           # a 100-character facs); facsimiles.store cuts new ones there too.
                           | {"label": (data.get("label") or "")[:100]})
             for position, data in enumerate(items or [])], batch_size=500)


def to_lists(apps, schema_editor):
    FacsimileUpload = apps.get_model("edition", "FacsimileUpload")
    FacsimileItem = apps.get_model("edition", "FacsimileItem")
    for upload in FacsimileUpload.objects.all().iterator(chunk_size=20):
        upload.items = [dict(zip(FIELDS, row)) for row in FacsimileItem.objects.filter(
            upload_id=upload.pk).order_by("position").values_list(*FIELDS)]
        upload.save(update_fields=["items"])


class Migration(migrations.Migration):

    dependencies = [
        ('edition', '0017_stuck_jobs'),
    ]

    operations = [
        # No reverse accessor while the JSON field `items` still exists (they would clash).
        migrations.CreateModel(
            name='FacsimileItem',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('position', models.PositiveIntegerField(help_text='Its place in the upload, from 0')),
                ('page', models.IntegerField()),
                ('name', models.CharField(help_text='The stored file', max_length=500)),
                ('index', models.IntegerField(blank=True, help_text='The PDF page, from 0', null=True)),
                ('label', models.CharField(blank=True, max_length=100)),
                ('done', models.BooleanField(default=False)),
                ('error', models.TextField(blank=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('upload', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='edition.facsimileupload')),
            ],
            options={
                'ordering': ['upload', 'position'],
                'constraints': [models.UniqueConstraint(fields=('upload', 'position'), name='facsimile_item_position')],
            },
        ),
        migrations.RunPython(to_rows, to_lists),
        migrations.RemoveField(
            model_name='facsimileupload',
            name='items',
        ),
        migrations.AlterField(
            model_name='facsimileitem',
            name='upload',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='items', to='edition.facsimileupload'),
        ),
    ]
