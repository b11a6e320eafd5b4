"""Full-text search: the only package that imports Whoosh.

- `schema`: what a document holds.
- `index`: opening the index folder, and the one writer (with its cursor into the change log).
- `indexer`: follows the change log from the database into the index; rebuild and check.
- `query`: turns what a person typed into a Whoosh query, filtered by what they may read.
- `patches`: two fixes to Whoosh itself, and the hook that enforces `budget`.
- `budget`: a search's time budget.
- `service`: what the web layer calls: budgets, caps, fair turns per client.
"""

from forum.search import patches

patches.apply()
