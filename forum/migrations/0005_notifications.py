from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from forum.mail.models import MailStatus
from forum.notifications.models import DigestFrequency, FollowLevel, NotificationKind, WatchLevel, WeeknoteStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_membership_and_mail')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FeedToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='feed_tokens', on_delete=OnDelete.CASCADE)),
                ('key_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'feed_tokens', 'app': 'models', 'pk_attr': 'id', 'table_description': "A private feed URL's key (hashed), revocable, for members-only networks' feeds."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Job',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('last_run_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('leased_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('holder', fields.CharField(default='', max_length=200)),
            ],
            options={'table': 'jobs', 'app': 'models', 'pk_attr': 'name'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='NetworkWatch',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='watches', on_delete=OnDelete.CASCADE)),
                ('network', fields.ForeignKeyField('models.Network', source_field='network_id', db_constraint=True, to_field='id', related_name='watches', on_delete=OnDelete.CASCADE)),
                ('level', fields.CharEnumField(default=WatchLevel.SUMMARIES, description='ALL: all\nSUMMARIES: summaries\nNOTHING: nothing', enum_type=WatchLevel, max_length=16)),
            ],
            options={'table': 'network_watches', 'app': 'models', 'unique_together': (('user', 'network'),), 'pk_attr': 'id', 'table_description': "A member's level for one network (no row: the default, summaries only)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='REPLY: reply\nMENTION: mention\nNEW_THREAD: new-thread\nSUMMARY: summary\nFLAG_RESOLVED: flag-resolved\nMEMBERSHIP_APPROVED: membership-approved', enum_type=NotificationKind, max_length=32)),
                ('actor', fields.ForeignKeyField('models.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='notifications_caused', on_delete=OnDelete.SET_NULL)),
                ('network_id', fields.IntField(null=True)),
                ('thread_id', fields.IntField(null=True)),
                ('post_id', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('email_pending', fields.BooleanField(default=False)),
            ],
            options={'table': 'notifications', 'app': 'models', 'indexes': [Index(fields=['user_id', 'read_at']), Index(fields=['user_id', 'created_at']), Index(fields=['email_pending', 'id'])], 'pk_attr': 'id', 'table_description': "One line in a person's notifications. Shown only while they may still read its"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Preferences',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.OneToOneField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='preferences', on_delete=OnDelete.CASCADE)),
                ('email_replies', fields.BooleanField(default=True)),
                ('email_mentions', fields.BooleanField(default=True)),
                ('digest', fields.CharEnumField(default=DigestFrequency.WEEKLY, description='NEVER: never\nDAILY: daily\nWEEKLY: weekly', enum_type=DigestFrequency, max_length=16)),
                ('weeknotes', fields.BooleanField(default=True)),
                ('digest_sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'preferences', 'app': 'models', 'pk_attr': 'id', 'table_description': "A person's email choices (no row: the defaults below)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ThreadEmail',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='thread_emails', on_delete=OnDelete.CASCADE)),
                ('thread', fields.ForeignKeyField('models.Thread', source_field='thread_id', db_constraint=True, to_field='id', related_name='emails', on_delete=OnDelete.CASCADE)),
                ('sent_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'thread_emails', 'app': 'models', 'unique_together': (('user', 'thread'),), 'pk_attr': 'id', 'table_description': 'When a person was last emailed about a thread: one email per quiet period.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ThreadFollow',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='follows', on_delete=OnDelete.CASCADE)),
                ('thread', fields.ForeignKeyField('models.Thread', source_field='thread_id', db_constraint=True, to_field='id', related_name='follows', on_delete=OnDelete.CASCADE)),
                ('level', fields.CharEnumField(default=FollowLevel.FOLLOWING, description='FOLLOWING: following\nMUTED: muted', enum_type=FollowLevel, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'thread_follows', 'app': 'models', 'unique_together': (('user', 'thread'),), 'pk_attr': 'id', 'table_description': "A person's choice about one thread: made for them when they start or reply to it."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ThreadRead',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='reads', on_delete=OnDelete.CASCADE)),
                ('thread', fields.ForeignKeyField('models.Thread', source_field='thread_id', db_constraint=True, to_field='id', related_name='reads', on_delete=OnDelete.CASCADE)),
                ('last_post_id', fields.IntField(default=0)),
                ('read_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'thread_reads', 'app': 'models', 'unique_together': (('user', 'thread'),), 'pk_attr': 'id', 'table_description': 'How far a person has read a thread: the highest post id they have been shown.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Weeknote',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('network', fields.ForeignKeyField('models.Network', source_field='network_id', null=True, db_constraint=True, to_field='id', related_name='weeknotes', on_delete=OnDelete.CASCADE)),
                ('slug', fields.CharField(max_length=80)),
                ('title', fields.CharField(max_length=200)),
                ('period_start', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('period_end', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('body', fields.TextField(unique=False)),
                ('body_html', fields.TextField(unique=False)),
                ('status', fields.CharEnumField(default=WeeknoteStatus.DRAFT, description='DRAFT: draft\nPUBLISHED: published', enum_type=WeeknoteStatus, max_length=16)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='weeknotes_drafted', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('published_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('emailed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'weeknotes', 'app': 'models', 'indexes': [Index(fields=['network_id', 'status', 'published_at'])], 'pk_attr': 'id', 'table_description': "A network's account of a week or month (network None: the site-wide one)."},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='OutboundEmail',
            name='status',
            field=fields.CharEnumField(default=MailStatus.QUEUED, description='QUEUED: queued\nSENT: sent\nFAILED: failed\nCANCELLED: cancelled', enum_type=MailStatus, max_length=16),
        ),
        ops.AddField(
            model_name='OutboundEmail',
            name='body_html',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
        ops.AddField(
            model_name='OutboundEmail',
            name='kind',
            field=fields.CharField(default='account', db_default='account', max_length=32),
        ),
        ops.AddField(
            model_name='OutboundEmail',
            name='network_ids',
            field=fields.JSONField(default=list, db_default='[]', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='OutboundEmail',
            name='user_id',
            field=fields.IntField(null=True),
        ),
    ]
