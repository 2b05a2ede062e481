"""The outlier-class protocol of thesis section 9.2.

One class is the outlier (anomaly) class; every other class is an inlier class.

* ``N_anomaly`` is the number of objects of the smallest class of the data set;
* the test set holds ``N_anomaly`` objects of the outlier class and ``N_anomaly`` inliers
  drawn with the inlier classes' proportions (largest-remainder rounding, so the counts add
  up exactly);
* the training set holds every remaining inlier; outlier objects beyond the ``N_anomaly``
  tested are used nowhere; there is no validation set.

With no outlier class (a model trained on every class) the test set is the ``N_anomaly``
inliers alone, for the classification accuracy.  The split depends only on the objects'
ids and labels and on the seed -- not on the order of the rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.errors import LCVaDEError


class SplitError(LCVaDEError):
    """The data cannot be split as requested; the message says why."""


@dataclass(frozen=True)
class OutlierSplit:
    """Indices (into the data's arrays) of the training and test objects."""

    train: np.ndarray
    test: np.ndarray
    test_is_outlier: np.ndarray
    n_anomaly: int
    outlier_class: str | None
    inlier_classes: list[str]

    def describe(self, ids: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
        """Counts per class and digests of the id sets, for a model's manifest."""

        def counts(index: np.ndarray) -> dict[str, int]:
            names, n = np.unique(labels[index].astype(str), return_counts=True)
            return {str(a): int(b) for a, b in zip(names, n, strict=True)}

        return {
            "protocol": "thesis section 9.2",
            "outlier_class": self.outlier_class,
            "n_anomaly": self.n_anomaly,
            "train_counts": counts(self.train),
            "test_counts": counts(self.test),
            "train_ids_sha256": id_set_digest(ids[self.train]),
            "test_ids_sha256": id_set_digest(ids[self.test]),
        }


def id_set_digest(ids: np.ndarray) -> str:
    """SHA-256 of a set of object ids (sorted, newline separated)."""
    text = "\n".join(sorted(str(i) for i in ids))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _shuffled_members(
    ids: np.ndarray, labels: np.ndarray, name: str, rng: np.random.Generator
) -> np.ndarray:
    members = np.flatnonzero(labels == name)
    members = members[np.argsort(ids[members].astype(str), kind="stable")]
    return members[rng.permutation(members.size)]


def proportional_quotas(sizes: dict[str, int], total: int) -> dict[str, int]:
    """Split ``total`` among classes in proportion to ``sizes`` (largest remainder)."""
    whole = sum(sizes.values())
    exact = {k: total * v / whole for k, v in sizes.items()}
    quotas = {k: int(np.floor(v)) for k, v in exact.items()}
    leftover = total - sum(quotas.values())
    by_remainder = sorted(sizes, key=lambda k: (-(exact[k] - quotas[k]), k))
    for k in by_remainder[:leftover]:
        quotas[k] += 1
    return quotas


def outlier_split(
    ids: np.ndarray, labels: np.ndarray, outlier_class: str | None, seed: int
) -> OutlierSplit:
    """The section 9.2 split of the objects ``ids`` with ``labels`` (see module docstring)."""
    ids = np.asarray(ids, dtype=object)
    labels = np.asarray(labels).astype(str)
    if len(set(ids.tolist())) != ids.size:
        raise SplitError("object ids must be unique to split the data")
    names, sizes = np.unique(labels, return_counts=True)
    counts = {str(a): int(b) for a, b in zip(names, sizes, strict=True)}
    if outlier_class is not None and outlier_class not in counts:
        raise SplitError(
            f"outlier class {outlier_class!r} does not occur in the data; classes are "
            f"{sorted(counts)}"
        )
    inliers = [name for name in sorted(counts) if name != outlier_class]
    if not inliers:
        raise SplitError("at least one inlier class is needed besides the outlier class")
    n_anomaly = min(counts.values())
    rng = np.random.default_rng(seed)
    quotas = proportional_quotas({k: counts[k] for k in inliers}, n_anomaly)
    train, test, outlier_flags = [], [], []
    for name in sorted(counts):
        members = _shuffled_members(ids, labels, name, rng)
        if name == outlier_class:
            test.append(members[:n_anomaly])
            outlier_flags.append(np.ones(n_anomaly, dtype=bool))
            continue
        quota = quotas[name]
        if quota >= members.size:
            raise SplitError(
                f"class {name!r} has {members.size} objects, all needed for the test set; "
                "add objects or drop the class"
            )
        test.append(members[:quota])
        outlier_flags.append(np.zeros(quota, dtype=bool))
        train.append(members[quota:])
    return OutlierSplit(
        train=np.sort(np.concatenate(train)),
        test=np.concatenate(test),
        test_is_outlier=np.concatenate(outlier_flags),
        n_anomaly=n_anomaly,
        outlier_class=outlier_class,
        inlier_classes=inliers,
    )


def add_unseen_outliers(
    split: OutlierSplit, ids: np.ndarray, labels: np.ndarray, outlier_class: str, seed: int
) -> OutlierSplit:
    """Extend a split without outliers with up to ``N_anomaly`` objects of a class the model
    never saw, drawn with ``seed``; training and inlier test objects are unchanged."""
    labels = np.asarray(labels).astype(str)
    if outlier_class in split.inlier_classes:
        raise SplitError(
            f"{outlier_class!r} is one of the model's training classes; it cannot be the "
            "outlier of this model"
        )
    rng = np.random.default_rng([seed, 1])
    members = _shuffled_members(np.asarray(ids, dtype=object), labels, outlier_class, rng)
    if members.size == 0:
        raise SplitError(f"outlier class {outlier_class!r} does not occur in the data")
    chosen = members[: split.n_anomaly]
    return OutlierSplit(
        train=split.train,
        test=np.concatenate([split.test, chosen]),
        test_is_outlier=np.concatenate([split.test_is_outlier, np.ones(chosen.size, bool)]),
        n_anomaly=split.n_anomaly,
        outlier_class=outlier_class,
        inlier_classes=split.inlier_classes,
    )


@dataclass(frozen=True)
class CalibrationSlice:
    """The training inliers split into the curves the fit sees and the calibration slice.

    ``fit`` and ``calibration`` are indices into the data's arrays (subsets of the split's
    ``train``); the calibration curves are never shown to the fit.
    """

    fit: np.ndarray
    calibration: np.ndarray
    fraction: float
    minimum: int
    seed: int

    def describe(self, ids: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
        """How the slice was drawn, its counts per class and the digests of both id sets."""
        names, n = np.unique(labels[self.calibration].astype(str), return_counts=True)
        return {
            "method": "split conformal: a seeded, class-stratified slice of the training "
            "inliers, held out of the fit",
            "fraction": self.fraction,
            "minimum": self.minimum,
            "seed": [self.seed, CALIBRATION_STREAM],
            "size": int(self.calibration.size),
            "counts": {str(a): int(b) for a, b in zip(names, n, strict=True)},
            "fit_ids_sha256": id_set_digest(ids[self.fit]),
            "calibration_ids_sha256": id_set_digest(ids[self.calibration]),
        }


CALIBRATION_STREAM = 2  # the random stream of the calibration slice: default_rng([seed, 2])
FIT_PER_CLASS = 2  # curves of every class that must stay in the fit


def calibration_slice(
    ids: np.ndarray,
    labels: np.ndarray,
    train: np.ndarray,
    fraction: float,
    minimum: int,
    seed: int,
) -> CalibrationSlice:
    """Hold ``max(minimum, ceil(fraction n))`` of the ``n`` training inliers out of the fit.

    The slice is stratified by class (each class gives its share, largest-remainder rounding)
    and drawn with ``seed`` from the objects' ids, not their order.  Every class keeps at least
    two curves in the fit; a training set too small for that raises :class:`SplitError`.
    """
    ids = np.asarray(ids, dtype=object)
    labels = np.asarray(labels).astype(str)
    train = np.asarray(train, dtype=np.int64)
    if not 0.0 < fraction < 1.0:
        raise SplitError(f"the calibration fraction must lie in (0, 1), got {fraction}")
    n = int(train.size)
    size = max(int(minimum), int(np.ceil(fraction * n)))
    names, counts = np.unique(labels[train], return_counts=True)
    sizes = {str(a): int(b) for a, b in zip(names, counts, strict=True)}
    affordable = n - FIT_PER_CLASS * len(sizes)
    if size > affordable:
        raise SplitError(
            f"the calibration slice needs {size} of the {n} training inliers, which leaves too "
            f"few for the fit (at most {max(affordable, 0)} can be held out with "
            f"{FIT_PER_CLASS} per class kept): add curves, or lower --calibration-min "
            f"({minimum}) or --calibration-fraction ({fraction})"
        )
    quotas = proportional_quotas(sizes, size)
    # a class whose share would leave fewer than FIT_PER_CLASS in the fit passes the excess on
    excess = 0
    for name in sorted(sizes):
        cap = sizes[name] - FIT_PER_CLASS
        if quotas[name] > cap:
            excess += quotas[name] - cap
            quotas[name] = cap
    for name in sorted(sizes, key=lambda k: (-(sizes[k] - FIT_PER_CLASS - quotas[k]), k)):
        room = sizes[name] - FIT_PER_CLASS - quotas[name]
        take = min(room, excess)
        quotas[name] += take
        excess -= take
    rng = np.random.default_rng([seed, CALIBRATION_STREAM])
    train_ids, train_labels = ids[train], labels[train]
    held = []
    for name in sorted(sizes):
        members = _shuffled_members(train_ids, train_labels, name, rng)
        held.append(members[: quotas[name]])
    chosen = np.zeros(n, dtype=bool)
    chosen[np.concatenate(held)] = True
    return CalibrationSlice(
        fit=np.sort(train[~chosen]),
        calibration=np.sort(train[chosen]),
        fraction=float(fraction),
        minimum=int(minimum),
        seed=int(seed),
    )
