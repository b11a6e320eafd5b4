"""Flags on posts, and what facilitators do about them: hide, restore, dismiss, redact."""
