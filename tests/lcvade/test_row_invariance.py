"""Row-invariant layers: the same maps, and scores that do not depend on a pass's row count."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import lcvade
from lcvade.row_invariance import (
    RowwiseLinear,
    RowwisePointwiseConv1d,
    with_row_invariant_layers,
)
from service.passes import rows_change_scores, score_pass
from service.registry import row_count_matters, warmup_curves_by_length


@pytest.fixture(scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # as on the service's model workers
    yield
    torch.set_num_threads(before)


def test_rowwise_layers_compute_the_maps_they_replace():
    torch.manual_seed(0)
    linear = nn.Linear(37, 11)
    conv = nn.Conv1d(9, 13, 1)
    for x in (torch.randn(5, 37), torch.randn(5, 3, 37), torch.randn(1, 37)):
        torch.testing.assert_close(RowwiseLinear(linear)(x), linear(x), rtol=1e-6, atol=1e-6)
    x = torch.randn(4, 9, 50)
    torch.testing.assert_close(RowwisePointwiseConv1d(conv)(x), conv(x), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="1-wide"):
        RowwisePointwiseConv1d(nn.Conv1d(9, 13, 3, padding=1))


def test_only_linear_maps_and_pointwise_convolutions_are_replaced():
    model = nn.Sequential(
        nn.Conv1d(3, 8, 3, padding=1), nn.Conv1d(8, 8, 1), nn.Flatten(), nn.Linear(8 * 10, 4)
    )
    x = torch.randn(6, 3, 10)
    before = model(x)
    with_row_invariant_layers(model)
    kinds = [type(m) for m in model]
    assert kinds == [nn.Conv1d, RowwisePointwiseConv1d, nn.Flatten, RowwiseLinear]
    torch.testing.assert_close(model(x), before, rtol=1e-5, atol=1e-6)


def _curves_by_length(scorer, rows: int, lengths: set[int]) -> dict[int, list]:
    by_length = warmup_curves_by_length(scorer, copies=rows)
    return {length: curves for length, curves in by_length.items() if length in lengths}


def test_the_default_model_loaded_row_invariant_scores_the_same_at_every_row_count(one_thread):
    plain = lcvade.load("default", device="cpu")
    scorer = lcvade.load("default", device="cpu", row_invariant=True)
    for length, curves in _curves_by_length(scorer, 33, {64, 200}).items():
        periods = [c.period for c in curves]
        full_ias, full_probs = score_pass(scorer, curves, periods, 33, length)
        for k in range(2, 33):
            ias, probs = score_pass(scorer, curves[:k], periods[:k], k, length)
            assert np.array_equal(ias, full_ias[:k]), (length, k)
            assert np.array_equal(probs, full_probs[:k]), (length, k)
        # The same function as the plain model, up to float32 rounding.
        plain_ias, _ = score_pass(plain, curves, periods, 33, length)
        np.testing.assert_allclose(full_ias, plain_ias, rtol=1e-5, atol=1e-4)
    assert not row_count_matters(scorer, 32)
    assert row_count_matters(plain, 32)  # not loaded row invariant: never trusted


def test_the_check_finds_a_model_whose_rows_interact(one_thread):
    scorer = lcvade.load("default", device="cpu", row_invariant=True)
    curves = _curves_by_length(scorer, 8, {64})
    assert not rows_change_scores(scorer, curves)
    # A batch norm on batch statistics: every row's result depends on the others.
    width = scorer.model.encoder.blocks[-1].conv2.out_channels
    scorer.model.encoder.blocks.append(nn.BatchNorm1d(width).train())
    assert rows_change_scores(scorer, curves)
