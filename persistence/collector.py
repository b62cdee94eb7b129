"""Pausing Python's garbage collector while a burst of long-lived objects is built."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """No collections inside the block; the collector's state is restored after it.

    For code that makes thousands of containers which all outlive the block (a calendar's
    entries, a snapshot's documents): a collection in the middle would traverse them and
    free nothing. Whatever the block leaves as garbage is collected after it as usual.
    Process-wide: another thread's block can end the pause early, which costs only speed.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
