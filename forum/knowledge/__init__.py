"""The knowledge base: facilitators' summaries of threads, their versions and their reviews.

- `services`: every write to a summary (write, promote a reply, restore, mark reviewed).
- `queries`: reads for the thread page, the knowledge base, the facilitator's queue and feeds.
- `diff`: a readable word-level difference between two versions.
"""
