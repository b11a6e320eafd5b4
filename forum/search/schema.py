"""The search document: one per post and one per summary."""

from __future__ import annotations

from typing import Any

from whoosh import fields
from whoosh.analysis import STOP_WORDS, CharsetFilter, StemmingAnalyzer
from whoosh.support.charset import accent_map

# Whoosh's stop words plus the function words of a question, so that "how do other boroughs
# structure their data teams?" looks for boroughs, structure, data and teams.
STOP_WORDS = frozenset(STOP_WORDS) | {
    "how", "what", "why", "who", "whom", "which", "where", "does", "do", "did", "doing",
    "other", "others", "their", "there", "they", "them", "our", "ours", "my", "me", "i",
    "its", "was", "were", "been", "has", "had", "would", "should", "could", "anyone",
    "any", "about", "into", "than", "then", "so", "such", "some", "these", "those",
}  # fmt: skip

# English stemming with accents folded: "structuring teams" finds "team structured", and
# "cafe" finds "café".
TEXT_ANALYZER = StemmingAnalyzer(stoplist=STOP_WORDS) | CharsetFilter(accent_map)

# The field that holds the change-log cursor lives on a document of its own kind.
CURSOR_DOC = "cursor"
# Raise when the schema or the analysis changes: an index of another version is rebuilt.
SCHEMA_VERSION = 5


class ColumnNumber(fields.NUMERIC):
    """A number kept as a sortable column (and stored), with no index terms: thread and rank
    are only ever read per document or sorted on, never searched by range. Indexing them
    would add several trie terms per document to every rebuild."""

    indexed = False


class CoarseDateTime(fields.DATETIME):
    """A date with half Whoosh's usual range terms (4 per document, not 8): after: and
    before: stay exact, each range reads a few more terms, and a rebuild writes fewer."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shift_step = 16


def make_schema() -> fields.Schema:
    return fields.Schema(
        # "post:123", "summary:45", or CURSOR_DOC.
        doc_id=fields.ID(stored=True, unique=True),
        kind=fields.ID(stored=True),  # post | summary | cursor
        # 0 for a summary, 1 for a post: within a thread, the summary is the result shown.
        rank=ColumnNumber(sortable=True),
        post_id=fields.STORED(),
        thread_id=ColumnNumber(stored=True, sortable=True),
        # Titles weigh more than bodies; the opening post carries its thread's title.
        # The unstemmed words of titles (opening posts and summaries) feed "did you mean":
        # keeping them for every body too nearly halved rebuild speed.
        title=fields.TEXT(analyzer=TEXT_ANALYZER, stored=True, field_boost=3.0, spelling=True),
        thread_title=fields.STORED(),
        network_id=fields.ID(stored=True),  # str(id): what the permission filter matches
        network=fields.ID(stored=True),  # slug
        author=fields.ID(stored=True),  # username
        author_name=fields.TEXT(analyzer=TEXT_ANALYZER, stored=True),
        org=fields.ID(stored=True),  # slug
        org_name=fields.STORED(),
        tags=fields.KEYWORD(commas=True, lowercase=True, stored=True),
        created=CoarseDateTime(stored=True, sortable=True),
        body=fields.TEXT(analyzer=TEXT_ANALYZER, stored=True),
        cursor=fields.NUMERIC(stored=True, bits=64),
        version=fields.STORED(),
    )
