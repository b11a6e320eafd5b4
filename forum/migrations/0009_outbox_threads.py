from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
import functools
from json import dumps, loads

class Migration(migrations.Migration):
    dependencies = [('models', '0008_outbox_posts')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OutboundEmail',
            name='built_from',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.CreateModel(
            name='OutboundEmailThread',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.ForeignKeyField('models.OutboundEmail', source_field='email_id', db_constraint=True, to_field='id', related_name='threads', on_delete=OnDelete.CASCADE)),
                ('thread_id', fields.IntField(db_index=True)),
                ('network_id', fields.IntField()),
                ('title_sha256', fields.CharField(max_length=64)),
            ],
            options={'table': 'outbound_email_threads', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A thread an email names (a digest lists threads by title), as it was when the email'},
            bases=['Model'],
        ),
    ]
