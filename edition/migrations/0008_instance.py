import secrets

from django.db import migrations, models


def make_token(apps, schema_editor):
    apps.get_model("edition", "Instance").objects.create(pk=1, token=secrets.token_hex(8))


class Migration(migrations.Migration):

    dependencies = [
        ('edition', '0007_whole_volumes'),
    ]

    operations = [
        migrations.CreateModel(
            name='Instance',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('token', models.CharField(max_length=32, unique=True)),
            ],
        ),
        migrations.RunPython(make_token, migrations.RunPython.noop),
    ]
