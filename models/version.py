"""The distribution's version, recorded in every checkpoint manifest.

The four packages (``models``, ``lcvade``, ``training``, ``service``) ship as one
distribution with one version; it lives in the lowest layer so that every layer can record
it without importing upwards.  ``lcvade.__version__`` re-exports it.
"""

__version__ = "0.1.0"
