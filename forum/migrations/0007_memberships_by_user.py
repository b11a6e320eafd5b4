from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0006_thread_page_reads')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Membership',
            index=Index(fields=['user_id', 'network_id', 'role']),
        ),
    ]
