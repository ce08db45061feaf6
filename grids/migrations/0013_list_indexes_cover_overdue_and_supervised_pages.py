"""Two list indexes carry the columns their pages need, so neither reads heap rows it drops.

- incident_supervised_created INCLUDE (path): a town's supervised=1 bounded count was an
  index-only scan of the town's 53,000 path entries filtered on `supervised` (17 ms at
  1,000,000 incidents); now it reads the few thousand supervised entries (0.5 ms).
- incident_open_path INCLUDE (created_at, id): a town's or community's overdue=1 page reads
  its 21 ids from this index alone, then the rows by primary key (pagination.keyset_rows
  `deferred`), instead of ~1,800 scattered heap rows before its top-21 sort (7.3 → 1.1 ms).

Same names and keys, columns added. Numbered 0013 because the dashboard's branch has its own
0012 (incident_path_dashboard), which it follows.
"""


from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('grids', '0012_dash_incident_path_dashboard'),
        ('projects', '0004_renewal_photo_random_names'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='incident',
            name='incident_supervised_created',
        ),
        migrations.RemoveIndex(
            model_name='incident',
            name='incident_open_path',
        ),
        migrations.AddIndex(
            model_name='incident',
            index=models.Index(condition=models.Q(('supervised', True)), fields=['created_at', 'id'], include=('path',), name='incident_supervised_created'),
        ),
        migrations.AddIndex(
            model_name='incident',
            index=models.Index(condition=models.Q(('status__in', ['reported', 'accepted', 'in_progress', 'resolved', 'verified'])), fields=['path', 'status', 'due_at', 'supervised'], include=('created_at', 'id'), name='incident_open_path', opclasses=['text_pattern_ops', 'text_ops', 'timestamptz_ops', 'bool_ops']),
        ),
    ]
