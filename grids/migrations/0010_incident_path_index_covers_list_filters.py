"""The incident's path index also carries the columns the list filters on (status, urgency,
tier, channel, category, supervised, created_at), so a town's bounded count with a filter is
an index-only scan of one path range that stops after 1,001 matches. At 1,000,000 incidents
those counts were a Seq Scan stopping early (19 ms, status=closed) or a BitmapAnd of the
town's 53,000 index entries with another index (40–130 ms, supervised / urgency=red)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('grids', '0009_incident_drop_redundant_fk_indexes'),
        ('projects', '0004_renewal_photo_random_names'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='incident',
            index=models.Index(fields=['path'], include=('status', 'urgency', 'tier', 'channel', 'category', 'supervised', 'created_at'), name='incident_path_covering', opclasses=['text_pattern_ops']),
        ),
        # after the new one exists, so path ranges never lack an index
        migrations.RemoveIndex(
            model_name='incident',
            name='incident_path_like',
        ),
    ]
