from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from forum.accounts.models import TokenPurpose
from forum.mail.models import MailStatus
from forum.networks.models import JoinPolicy, RequestStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_knowledge_base')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Invitation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key_hash', fields.CharField(unique=True, max_length=64)),
                ('email', fields.CharField(db_index=True, max_length=254)),
                ('invited_by', fields.ForeignKeyField('models.User', source_field='invited_by_id', null=True, db_constraint=True, to_field='id', related_name='invitations_sent', on_delete=OnDelete.SET_NULL)),
                ('organisation', fields.ForeignKeyField('models.Organisation', source_field='organisation_id', null=True, db_constraint=True, to_field='id', related_name='invitations', on_delete=OnDelete.SET_NULL)),
                ('network_ids', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('message', fields.CharField(default='', max_length=1000)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('used_by', fields.ForeignKeyField('models.User', source_field='used_by_id', null=True, db_constraint=True, to_field='id', related_name='invitations_used', on_delete=OnDelete.SET_NULL)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'invitations', 'app': 'models', 'pk_attr': 'id', 'table_description': 'An emailed, single-use, expiring invitation to the site and optionally to networks.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MembershipRequest',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('network', fields.ForeignKeyField('models.Network', source_field='network_id', db_constraint=True, to_field='id', related_name='requests', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='membership_requests', on_delete=OnDelete.CASCADE)),
                ('message', fields.CharField(default='', max_length=1000)),
                ('status', fields.CharEnumField(default=RequestStatus.PENDING, description='PENDING: pending\nAPPROVED: approved\nDECLINED: declined\nWITHDRAWN: withdrawn', enum_type=RequestStatus, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decided_by', fields.ForeignKeyField('models.User', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name='requests_decided', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'membership_requests', 'app': 'models', 'indexes': [Index(fields=['network_id', 'status'])], 'pk_attr': 'id', 'table_description': 'A user asking to join a network that a facilitator admits.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboundEmail',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('to_address', fields.CharField(max_length=254)),
                ('subject', fields.CharField(max_length=300)),
                ('body_text', fields.TextField(unique=False)),
                ('status', fields.CharEnumField(default=MailStatus.QUEUED, description='QUEUED: queued\nSENT: sent\nFAILED: failed', enum_type=MailStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.CharField(default='', max_length=1000)),
            ],
            options={'table': 'outbound_email', 'app': 'models', 'indexes': [Index(fields=['status', 'next_attempt_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RateEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(max_length=200)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'rate_events', 'app': 'models', 'indexes': [Index(fields=['key', 'at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Token',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key_hash', fields.CharField(unique=True, max_length=64)),
                ('purpose', fields.CharEnumField(description='VERIFY_EMAIL: verify-email\nRESET_PASSWORD: reset-password', enum_type=TokenPurpose, max_length=32)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='tokens', on_delete=OnDelete.CASCADE)),
                ('email', fields.CharField(max_length=254)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'tokens', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A single-use, expiring link sent by email. Only the hash of its key is stored.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Network',
            name='join_policy',
            field=fields.CharEnumField(default=JoinPolicy.OPEN, description='OPEN: open\nREQUEST: request', db_default='open', enum_type=JoinPolicy, max_length=16),
        ),
        ops.AddField(
            model_name='Session',
            name='address',
            field=fields.CharField(default='', db_default='', max_length=64),
        ),
        ops.AddField(
            model_name='Session',
            name='last_seen_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Session',
            name='user_agent',
            field=fields.CharField(default='', db_default='', max_length=200),
        ),
        ops.AddField(
            model_name='User',
            name='email_verified_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        # Accounts that existed before email verification was required keep writing.
        ops.RunSQL(
            "UPDATE users SET email_verified_at = created_at WHERE email_verified_at IS NULL",
            reverse_sql="SELECT 1",
        ),
    ]
