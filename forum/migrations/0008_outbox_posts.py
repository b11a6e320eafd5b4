from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0007_memberships_by_user')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OutboundEmailPost',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.ForeignKeyField('models.OutboundEmail', source_field='email_id', db_constraint=True, to_field='id', related_name='posts', on_delete=OnDelete.CASCADE)),
                ('post_id', fields.IntField(db_index=True)),
                ('withdrawn_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'outbound_email_posts', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A post whose text an email carries (a reply or mention email quotes its post). When'},
            bases=['Model'],
        ),
    ]
