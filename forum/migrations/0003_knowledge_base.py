from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from forum.moderation.models import FlagReason, FlagStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_search_cursors')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.ForeignKeyField('models.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='audit_entries', on_delete=OnDelete.SET_NULL)),
                ('action', fields.CharField(max_length=64)),
                ('network_id', fields.IntField(null=True)),
                ('thread_id', fields.IntField(null=True)),
                ('post_id', fields.IntField(null=True)),
                ('before', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('after', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'audit_log', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Flag',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('post', fields.ForeignKeyField('models.Post', source_field='post_id', db_constraint=True, to_field='id', related_name='flags', on_delete=OnDelete.CASCADE)),
                ('reporter', fields.ForeignKeyField('models.User', source_field='reporter_id', db_constraint=True, to_field='id', related_name='flags', on_delete=OnDelete.CASCADE)),
                ('reason', fields.CharEnumField(description='SPAM: spam\nOFF_TOPIC: off-topic\nINAPPROPRIATE: inappropriate\nPERSONAL_DATA: personal-data\nOTHER: other', enum_type=FlagReason, max_length=32)),
                ('note', fields.CharField(default='', max_length=1000)),
                ('status', fields.CharEnumField(default=FlagStatus.OPEN, description='OPEN: open\nDISMISSED: dismissed\nACTIONED: actioned', enum_type=FlagStatus, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('resolved_by', fields.ForeignKeyField('models.User', source_field='resolved_by_id', null=True, db_constraint=True, to_field='id', related_name='resolved_flags', on_delete=OnDelete.SET_NULL)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'flags', 'app': 'models', 'indexes': [Index(fields=['status', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SummaryRevision',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('summary', fields.ForeignKeyField('models.Summary', source_field='summary_id', db_constraint=True, to_field='id', related_name='revisions', on_delete=OnDelete.CASCADE)),
                ('body', fields.TextField(unique=False)),
                ('body_html', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('editor', fields.ForeignKeyField('models.User', source_field='editor_id', db_constraint=True, to_field='id', related_name='summary_revisions', on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'summary_revisions', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One earlier version of a summary, kept when it is edited or restored.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ThreadRedirect',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('old_thread_id', fields.IntField(unique=True)),
                ('thread', fields.ForeignKeyField('models.Thread', source_field='thread_id', db_constraint=True, to_field='id', related_name='redirects', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'thread_redirects', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A thread merged into another: its old id keeps working as a link.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Post',
            name='hidden',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Post',
            name='hidden_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Post',
            name='hidden_by',
            field=fields.ForeignKeyField('models.User', source_field='hidden_by_id', null=True, db_constraint=True, to_field='id', related_name='hidden_posts', on_delete=OnDelete.RESTRICT),
        ),
        ops.AddField(
            model_name='Post',
            name='hidden_note',
            field=fields.CharField(default='', db_default='', max_length=500),
        ),
        ops.AddField(
            model_name='Post',
            name='redacted_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Post',
            name='redacted_by',
            field=fields.ForeignKeyField('models.User', source_field='redacted_by_id', null=True, db_constraint=True, to_field='id', related_name='redactions', on_delete=OnDelete.RESTRICT),
        ),
        ops.AddField(
            model_name='Summary',
            name='edited_by',
            field=fields.ForeignKeyField('models.User', source_field='edited_by_id', null=True, db_constraint=True, to_field='id', related_name='summary_edits', on_delete=OnDelete.RESTRICT),
        ),
        ops.AddField(
            model_name='Summary',
            name='reviewed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Summary',
            name='reviewed_by',
            field=fields.ForeignKeyField('models.User', source_field='reviewed_by_id', null=True, db_constraint=True, to_field='id', related_name='summary_reviews', on_delete=OnDelete.RESTRICT),
        ),
        ops.AddField(
            model_name='Summary',
            name='source_post',
            field=fields.ForeignKeyField('models.Post', source_field='source_post_id', null=True, db_constraint=True, to_field='id', related_name='promoted_to', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Thread',
            name='lock_reason',
            field=fields.CharField(default='', db_default='', max_length=500),
        ),
    ]
