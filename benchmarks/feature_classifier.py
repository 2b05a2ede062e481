"""A supervised peer for LC-VaDE's classification accuracy on the same split.

A gradient-boosted tree classifier (scikit-learn's ``HistGradientBoostingClassifier``) on the
``light-curve`` package features of the Isolation Forest baseline
(:mod:`training.baselines.feature_forest`: magnitude, variability and periodogram features
plus log10 of the period) is trained on the training inliers of the section 9.2 split and
scored on the test inliers -- the accuracy that q(y|z,f) of a model trained on the same split
is compared with.  It prints the accuracy and the per-class recall.

Example (the split of the bundled default model)::

    python benchmarks/feature_classifier.py --data default-model-run/lightcurves.parquet \
        --objects default-model-run/objects.parquet --seed 0
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--objects", type=Path, required=True)
    parser.add_argument("--outlier-class", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--period-cache", type=Path, default=None)
    args = parser.parse_args(argv)
    print("command:", shlex.join(["python", "benchmarks/feature_classifier.py", *sys.argv[1:]]))

    from sklearn.ensemble import HistGradientBoostingClassifier

    from training.baselines.feature_forest import curve_features, feature_extractor
    from training.data import load_labelled
    from training.split import outlier_split

    data = load_labelled(args.data, args.objects, period_cache=args.period_cache)
    split = outlier_split(data.ids, data.labels, args.outlier_class, args.seed)
    started = time.perf_counter()
    extractor = feature_extractor()
    train = data.subset(split.train)
    test = data.subset(split.test[~split.test_is_outlier])
    classifier = HistGradientBoostingClassifier(random_state=args.seed)
    classifier.fit(curve_features(train.curves, data.bands(), extractor), train.labels.astype(str))
    predicted = classifier.predict(curve_features(test.curves, data.bands(), extractor))
    truth = test.labels.astype(str)
    print(
        f"{len(train)} training and {len(test)} test inliers; {time.perf_counter() - started:.0f} s"
    )
    print(f"test-inlier accuracy: {np.mean(predicted == truth):.4f}")
    for name in sorted(set(truth)):
        members = truth == name
        print(f"  {name:10s} recall {np.mean(predicted[members] == name):.3f} ({members.sum()})")


if __name__ == "__main__":
    main()
