"""Batch scoring: ``lcvade score`` and ``lcvade convert``.

Light-curve tables, alert packets (ZTF, Rubin) and LSDB catalogs are read as long-format
photometry rows (:mod:`~training.scoring.inputs`, :mod:`~training.scoring.alerts`), staged
into buckets by object (:mod:`~training.scoring.staging`), and each bucket is scored into
one output part (:mod:`~training.scoring.job`, :mod:`~training.scoring.results`,
:mod:`~training.scoring.output`) -- in this process (:mod:`~training.scoring.run`) or on a
Dask cluster (:mod:`~training.scoring.dask_run`).  This package uses the core (``lcvade``)
and nothing of the training job beside it.
"""
