"""Full-text search: the only package that imports Whoosh.

- `schema`: what a document holds.
- `index`: opening the index folder, and the one writer (with its cursor into the change log).
- `indexer`: follows the change log from the database into the index; rebuild and check.
- `syntax`: the query language as text: cleaning, the caps, the form's `Filters`.
- `compile`: the query's text into Whoosh queries (wildcards expanded to readable terms).
- `segments`: per-segment columns, the documents a viewer may read (the permission filter),
  and the newest part of the index that a broad query is searched on.
- `execute`: runs a search: counts, the page's best documents, the fall-back to any word.
- `landing`: where each result lands in its thread: snippet and "N more".
- `spelling`: "did you mean", made only of what the viewer may read.
- `results`: `Hit` and `Outcome`, what the web layer shows (no Whoosh in it).
- `patches`: two fixes to Whoosh itself, and the hook that enforces `budget`.
- `budget`: a search's time budget.
- `service`: what the web layer calls: budgets, caps, fair turns per client.
"""

from forum.search import patches

patches.apply()
