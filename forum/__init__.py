"""A discussion forum and knowledge base for professional networks."""

__version__ = "0.1.0"
