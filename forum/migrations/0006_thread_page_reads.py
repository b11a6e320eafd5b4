from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index


async def _keep_post_html_inline(apps, schema_editor) -> None:
    """PostgreSQL: keep a post's HTML in its row, uncompressed where the row has room (its
    Markdown source and plain text are compressed, or moved out of the row, first). A
    thread page reads every post's HTML: decompressing each cost PostgreSQL about a third
    of the page's query. Rows written before this keep their form until rewritten."""
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script(
            "ALTER TABLE posts ALTER COLUMN body_html SET STORAGE MAIN"
        )


async def _default_storage(apps, schema_editor) -> None:
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script(
            "ALTER TABLE posts ALTER COLUMN body_html SET STORAGE EXTENDED"
        )


class Migration(migrations.Migration):
    dependencies = [('models', '0005_notifications')]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name='Post',
            name=None,
            fields=['thread_id', 'created_at'],
        ),
        ops.AddIndex(
            model_name='Post',
            index=Index(fields=['thread_id', 'created_at', 'id']),
        ),
        ops.RunPython(_keep_post_html_inline, _default_storage),
    ]
