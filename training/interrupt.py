"""Clean interruption of long jobs: Ctrl-C (SIGINT) or SIGTERM becomes a polled flag.

Inside ``with StopRequest() as stop:`` the first SIGINT/SIGTERM only sets ``stop.requested``;
the training loop checks it between batches, saves a checkpoint and exits (status 130).  A
second Ctrl-C interrupts at once, as usual.  Outside the main thread (where Python cannot
install signal handlers) the object is inert and never requests a stop.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

INTERRUPTED_EXIT_CODE = 130


class StopRequest:
    """A context manager that turns the first SIGINT/SIGTERM into ``requested = True``."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = False
        self.signal_name: str | None = None
        self._previous: dict[int, object] = {}

    def __call__(self) -> bool:
        return self.requested

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        self.signal_name = signal.Signals(signum).name

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()
