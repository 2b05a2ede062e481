"""Generator/encoder/discriminator of Tables 6.1-6.3 and 8.1-8.3: shapes, spectral norm,
encoder/discriminator sharing, class delivery (8.1.4) and standing statistics."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from models.backbone import avg_pool_1d
from models.conditioning import LatentDelivery
from models.networks import (
    Discriminator,
    Encoder,
    Generator,
    JointDiscriminator,
    encoder_and_discriminator,
    standing_stats,
)

pytestmark = pytest.mark.usefixtures("single_torch_thread")


def sn_layers(module: nn.Module) -> list[nn.Module]:
    return [m for m in module.modules() if parametrize.is_parametrized(m, "weight")]


def top_singular_value(weight: torch.Tensor) -> float:
    weight = weight.detach()
    return float(torch.linalg.matrix_norm(weight.reshape(weight.shape[0], -1), ord=2))


POOLING_CASES = [
    (kernel_size, length)
    for kernel_size in (2, 3, 5)
    for length in (1, 2, 7, 8, 31, 64)
    if length + 2 * ((kernel_size - 1) // 2) >= kernel_size  # torch's pooling has an output
]


@pytest.mark.parametrize(("kernel_size", "length"), POOLING_CASES)
def test_sliced_1d_pooling_is_torch_pooling_bit_for_bit(kernel_size: int, length: int) -> None:
    pad = (kernel_size - 1) // 2
    torch.manual_seed(length)
    x = torch.randn(3, 5, length, requires_grad=True)
    ours = avg_pool_1d(x, kernel_size)
    theirs = nn.functional.avg_pool1d(
        x, kernel_size, stride=2, padding=pad, count_include_pad=False
    )
    assert ours.shape == theirs.shape
    assert torch.equal(ours, theirs)
    upstream = torch.randn_like(ours)
    (grad_ours,) = torch.autograd.grad(ours, x, upstream)
    (grad_theirs,) = torch.autograd.grad(theirs, x, upstream)
    assert torch.equal(grad_ours, grad_theirs)


def test_spectral_norm_keeps_the_largest_singular_value_at_one() -> None:
    torch.manual_seed(0)
    nets = [Generator(4, 1, 8, 8), Encoder(4, 1, 8), Discriminator(4, 1)]
    layers = [layer for net in nets for layer in sn_layers(net)]
    assert len(layers) > 20  # every conv and linear layer is normalised
    with torch.no_grad():
        for layer in layers:
            for _ in range(300):  # each training-mode access runs one power iteration
                layer.weight  # noqa: B018
            layer.eval()
            raw = layer.parametrizations.weight.original
            assert abs(top_singular_value(raw) - 1.0) > 0.05  # the raw weight is not normalised
            assert top_singular_value(layer.weight) == pytest.approx(1.0, abs=0.01)


def test_shapes_of_tables_6_1_to_6_3() -> None:
    torch.manual_seed(0)
    gen = Generator(3, 3, 5, 5)
    x = gen(torch.randn(2, 5), [torch.randn(2, 5)] * 3)
    assert x.shape == (2, 3, 32, 32) and float(x.detach().abs().max()) <= 1.0
    enc = Encoder(3, 3, 7, hidden_head=True)
    mu, logvar = enc(x)
    assert mu.shape == logvar.shape == (2, 7)
    assert enc.features(x).shape == (2, 2 * 2 * 12)
    assert isinstance(enc.mean_head, nn.Sequential)  # Table 8.3: Linear(16C -> 8C) -> J
    assert enc.mean_head[0].weight.shape == (24, 48)
    d = Discriminator(3, 3)
    assert d(x).shape == (2,)
    joint = JointDiscriminator(3, 3, 7)
    scores = joint(x, mu)
    assert len(scores) == 3 and all(s.shape == (2,) for s in scores)


def test_sharing_the_first_three_blocks() -> None:
    torch.manual_seed(0)
    enc, disc = encoder_and_discriminator(2, 1, 4, share=True)
    assert enc.trunk is disc.trunk
    x = torch.randn(3, 1, 32, 32)
    enc.eval()  # no power iteration in the encoder's own forwards
    before, _ = enc(x)
    opt = torch.optim.SGD(disc.parameters(), lr=0.5)
    disc(x).sum().backward()
    opt.step()
    after, _ = enc(x)
    assert not torch.allclose(before, after)  # a discriminator update moved the encoder

    enc2, disc2 = encoder_and_discriminator(2, 1, 4, share=False)
    assert enc2.trunk is not disc2.trunk
    enc2.eval()
    before2, _ = enc2(x)
    opt2 = torch.optim.SGD(disc2.parameters(), lr=0.5)
    disc2(x).sum().backward()
    opt2.step()
    assert torch.equal(before2, enc2(x)[0])


@pytest.mark.parametrize(
    ("method", "input_dim", "cond_dim"),
    [("latent", 8, 8), ("split", 2, 2 + 8), ("shared", 8, 16), ("embed", 8, 5)],
)
def test_delivery_methods_of_8_1_4(method: str, input_dim: int, cond_dim: int) -> None:
    torch.manual_seed(0)
    n_classes = 0 if method == "latent" else 5
    delivery = LatentDelivery(method, 8, 3, n_classes)
    assert (delivery.input_dim, delivery.cond_dim) == (input_dim, cond_dim)
    z = torch.randn(4, 8)
    y = torch.tensor([0, 1, 2, 3])
    code, conds = delivery(z, None if method == "latent" else y)
    assert code.shape == (4, input_dim)
    assert len(conds) == 3 and all(c.shape == (4, cond_dim) for c in conds)
    if method == "split":
        assert torch.equal(code, z[:, :2])
        assert torch.equal(conds[2][:, :2], z[:, 6:])
    if method != "latent":
        gen = Generator(2, 1, input_dim, cond_dim).eval()
        out_y = gen(*delivery(z, y))
        out_other = gen(*delivery(z, (y + 1) % 5))
        assert not torch.allclose(out_y, out_other)  # the cluster reaches the image
        with pytest.raises(ValueError, match="needs the cluster"):
            delivery(z, None)


def test_standing_statistics_average_the_passes() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2))
    batches = [torch.randn(8, 1, 4, 4) + i for i in range(4)]
    it = iter(batches)
    standing_stats(net, lambda: net(next(it)), passes=4)
    with torch.no_grad():
        means = torch.stack([net[0](b).mean((0, 2, 3)) for b in batches])
    assert not net.training
    torch.testing.assert_close(net[1].running_mean, means.mean(0), rtol=1e-5, atol=1e-6)
    assert net[1].momentum == 0.1  # restored
