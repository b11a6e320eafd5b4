"""The audit log: who changed a thread's place or standing, when, and from what to what."""
