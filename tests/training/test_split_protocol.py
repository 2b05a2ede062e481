"""The outlier-class split of thesis section 9.2."""

from __future__ import annotations

import numpy as np
import pytest

from training.split import SplitError, add_unseen_outliers, outlier_split, proportional_quotas

SIZES = {"A": 50, "B": 31, "C": 12, "D": 7}


def dataset(sizes=SIZES, shuffle_seed=None):
    ids = np.array([f"{k}{i:03d}" for k, n in sizes.items() for i in range(n)], dtype=object)
    labels = np.array([k for k, n in sizes.items() for _ in range(n)], dtype=object)
    if shuffle_seed is not None:
        order = np.random.default_rng(shuffle_seed).permutation(ids.size)
        ids, labels = ids[order], labels[order]
    return ids, labels


def test_proportional_quotas_largest_remainder():
    # exact shares 3.5, 2.1, 1.4 -> floors 3, 2, 1 and the one left goes to the largest remainder
    assert proportional_quotas({"a": 50, "b": 30, "c": 20}, 7) == {"a": 4, "b": 2, "c": 1}
    assert sum(proportional_quotas(SIZES, 13).values()) == 13


@pytest.mark.parametrize("outlier", ["A", "B", "D"])
def test_counts_follow_section_9_2(outlier):
    ids, labels = dataset()
    split = outlier_split(ids, labels, outlier, seed=3)
    n_anomaly = min(SIZES.values())
    assert split.n_anomaly == n_anomaly == 7
    test_labels = labels[split.test]
    assert (test_labels[split.test_is_outlier] == outlier).all()
    assert split.test_is_outlier.sum() == n_anomaly
    assert (~split.test_is_outlier).sum() == n_anomaly
    inlier_sizes = {k: v for k, v in SIZES.items() if k != outlier}
    total = sum(inlier_sizes.values())
    for name, size in inlier_sizes.items():
        drawn = int((test_labels[~split.test_is_outlier] == name).sum())
        assert abs(drawn - n_anomaly * size / total) < 1.0
        # training gets every remaining inlier of the class
        assert int((labels[split.train] == name).sum()) == size - drawn
    assert not (labels[split.train] == outlier).any()


def test_no_object_in_two_splits_and_unused_outliers():
    ids, labels = dataset()
    split = outlier_split(ids, labels, "A", seed=0)
    train, test = set(ids[split.train]), set(ids[split.test])
    assert not train & test
    assert len(test) == split.test.size  # no duplicates inside the test set
    unused = set(ids) - train - test
    assert {labels[list(ids).index(i)] for i in unused} == {"A"}
    assert len(unused) == SIZES["A"] - split.n_anomaly


def test_deterministic_given_seed_and_independent_of_row_order():
    ids, labels = dataset()
    a = outlier_split(ids, labels, "B", seed=5)
    b = outlier_split(ids, labels, "B", seed=5)
    assert np.array_equal(a.train, b.train) and np.array_equal(a.test, b.test)
    other = outlier_split(ids, labels, "B", seed=6)
    assert set(ids[other.test]) != set(ids[a.test])
    shuffled_ids, shuffled_labels = dataset(shuffle_seed=1)
    c = outlier_split(shuffled_ids, shuffled_labels, "B", seed=5)
    assert set(shuffled_ids[c.test]) == set(ids[a.test])
    assert set(shuffled_ids[c.train]) == set(ids[a.train])
    assert a.describe(ids, labels) == c.describe(shuffled_ids, shuffled_labels)


def test_without_outlier_class_the_test_set_is_inliers_only():
    ids, labels = dataset()
    split = outlier_split(ids, labels, None, seed=0)
    assert split.test.size == 7 and not split.test_is_outlier.any()
    assert split.train.size == sum(SIZES.values()) - 7
    assert split.inlier_classes == sorted(SIZES)


def test_unseen_outliers_keep_training_and_inlier_test_objects():
    ids, labels = dataset({"A": 30, "B": 20})
    base = outlier_split(ids, labels, None, seed=2)
    extra_ids, extra_labels = dataset({"X": 40})
    all_ids = np.concatenate([ids, extra_ids])
    all_labels = np.concatenate([labels, extra_labels])
    split = add_unseen_outliers(base, all_ids, all_labels, "X", seed=2)
    assert np.array_equal(split.train, base.train)
    assert np.array_equal(split.test[: base.test.size], base.test)
    assert split.test_is_outlier.sum() == base.n_anomaly == 20
    assert (all_labels[split.test[split.test_is_outlier]] == "X").all()
    with pytest.raises(SplitError, match="training classes"):
        add_unseen_outliers(base, all_ids, all_labels, "A", seed=2)


def test_user_errors_say_what_is_wrong():
    ids, labels = dataset()
    with pytest.raises(SplitError, match="does not occur"):
        outlier_split(ids, labels, "Z", seed=0)
    tiny_ids, tiny_labels = dataset({"A": 10, "B": 1, "C": 10})
    with pytest.raises(SplitError, match="inlier class|all needed"):
        outlier_split(tiny_ids[tiny_labels != "C"], tiny_labels[tiny_labels != "C"], "A", 0)
