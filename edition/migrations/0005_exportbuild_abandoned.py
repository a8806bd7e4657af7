"""A build taken over from a dead worker gets its own status instead of a failure whose message
ends "taken over.": the sweep told the two apart by that message."""

from django.db import migrations, models


def mark_abandoned(apps, schema_editor):
    ExportBuild = apps.get_model("edition", "ExportBuild")
    ExportBuild.objects.filter(status="failed", error__endswith="taken over.").update(
        status="abandoned")


def mark_failed(apps, schema_editor):
    ExportBuild = apps.get_model("edition", "ExportBuild")
    ExportBuild.objects.filter(status="abandoned").update(status="failed")


class Migration(migrations.Migration):

    dependencies = [
        ("edition", "0004_exports"),
    ]

    operations = [
        migrations.AlterField(
            model_name="exportbuild",
            name="status",
            field=models.CharField(choices=[("building", "Building"), ("complete", "Complete"),
                                            ("failed", "Failed"), ("abandoned", "Taken over")],
                                   default="building", max_length=20),
        ),
        migrations.RunPython(mark_abandoned, mark_failed, elidable=True),
    ]
