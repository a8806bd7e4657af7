from django.db import migrations, models


def mark_starts(apps, schema_editor):
    """Existing rows: a unit's first pb that stands at offset 0 of its current text begins the
    unit (what edition/pages.py first_break_at_start finds), read once per unit holding pages.
    Historical models; the TEI is parsed by the same functions as the app's."""
    from edition.pages import _key
    from edition.tei import XML_ID
    from edition.tei import textlayer
    from edition.tei.parsing import parse_document_div

    PageImage = apps.get_model("edition", "PageImage")
    Document = apps.get_model("edition", "Document")
    holders = set(PageImage.objects.filter(document__isnull=False)
                  .values_list("document_id", flat=True))
    for pk, tei in (Document.objects.filter(pk__in=holders, current_revision__isnull=False)
                    .values_list("pk", "current_revision__tei").iterator(chunk_size=100)):
        if "pb" not in tei:
            continue
        found = textlayer.build(parse_document_div(tei)).page_breaks
        if not found or found[0].offset != 0:
            continue
        pb = found[0].element
        key = _key((pb.get("facs") or "").strip(), pb.get(XML_ID) or "",
                   (pb.get("n") or "").strip())
        for page in PageImage.objects.filter(document_id=pk).only("pk", "facs", "pb_id", "n"):
            if _key(page.facs, page.pb_id, page.n) == key:
                PageImage.objects.filter(pk=page.pk).update(at_start=True)
                break


class Migration(migrations.Migration):

    dependencies = [
        ('edition', '0015_document_edition_dates'),
    ]

    operations = [
        migrations.AddField(
            model_name='pageimage',
            name='at_start',
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(mark_starts, migrations.RunPython.noop),
    ]
