"""The base of the project's errors, and the one checkpoint error of both model families.

Every error that the project raises about what it was given -- a light curve, a table, a
configuration, a model directory, a data set -- derives from :class:`LCVaDEError`, itself a
:class:`ValueError`, and carries a message that says what to fix.  A command line or a
caller that wants to report any of them catches the one class.  Errors about the program's
own state (a lost worker process, a closed batcher) and the signal that training was
interrupted are not among them.
"""

from __future__ import annotations


class LCVaDEError(ValueError):
    """A project error about its input; the message says what is wrong and what to fix."""


class CheckpointError(LCVaDEError):
    """A model or checkpoint directory cannot be read or written; the message says why.

    Both checkpoint formats raise it: the light-curve model's (:mod:`lcvade.checkpoint`) and
    the image family's (:mod:`models.gi_checkpoint`).
    """
