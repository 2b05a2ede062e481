"""Giving freed memory back to the operating system: see :mod:`lcvade.process_memory` (the
service uses it too); the batch jobs import it from here."""

from lcvade.process_memory import limit_heap_growth, release_memory

__all__ = ["limit_heap_growth", "release_memory"]
