"""Demo content for a newcomer's first `make run`: networks, people, threads and summaries."""

from forum.demo.loader import DEMO_PASSWORD, DemoLogin, is_empty, load_demo

__all__ = ["DEMO_PASSWORD", "DemoLogin", "is_empty", "load_demo"]
