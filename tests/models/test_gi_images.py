"""Image data sets: bundled digits, idx files, CIFAR batches (restricted unpickler), npz,
class folders; nothing downloads and errors say what to fix."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from models.images import DataError, load_dataset, read_idx

pytestmark = pytest.mark.usefixtures("single_torch_thread")


def test_digits_are_real_upsampled_and_in_range() -> None:
    data = load_dataset("digits")
    assert data.images.shape == (1797, 1, 32, 32)
    assert data.n_classes == 10 and data.labels.bincount().min() > 170
    assert float(data.images.min()) == -1.0 and float(data.images.max()) <= 1.0
    # the upsampled image keeps the 8x8 original: average-pooling back comes close to it
    from sklearn.datasets import load_digits

    original = torch.as_tensor(load_digits().images[0] / 16.0 * 2 - 1, dtype=torch.float32)
    pooled = torch.nn.functional.avg_pool2d(data.images[:1], 4)[0, 0]
    corr = np.corrcoef(pooled.flatten().numpy(), original.flatten().numpy())[0, 1]
    assert corr > 0.95


def test_split_is_stratified_disjoint_and_seeded() -> None:
    data = load_dataset("digits")
    train, test = data.split(0.2, seed=3)
    assert len(train) + len(test) == len(data)
    assert abs(len(test) - 0.2 * len(data)) < 10
    per_class = test.labels.bincount().float() / data.labels.bincount().float()
    assert float((per_class - 0.2).abs().max()) < 0.02
    train2, test2 = data.split(0.2, seed=3)
    assert torch.equal(test.images, test2.images)
    _, other = data.split(0.2, seed=4)
    assert not torch.equal(test.labels, other.labels) or not torch.equal(test.images, other.images)
    assert train.digest() != test.digest()


def write_idx(path: Path, array: np.ndarray, compress: bool) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(">u1").tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_folder(tmp_path: Path, compress: bool) -> None:
    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    imgs = rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
    labels = np.array([0, 1, 2, 0, 1, 2], dtype=np.uint8)
    suffix = ".gz" if compress else ""
    write_idx(folder / f"train-images-idx3-ubyte{suffix}", imgs[:4], compress)
    write_idx(folder / f"train-labels-idx1-ubyte{suffix}", labels[:4], compress)
    write_idx(folder / f"t10k-images-idx3-ubyte{suffix}", imgs[4:], compress)
    write_idx(folder / f"t10k-labels-idx1-ubyte{suffix}", labels[4:], compress)
    np.testing.assert_array_equal(read_idx(folder / f"train-images-idx3-ubyte{suffix}"), imgs[:4])
    data = load_dataset("mnist", root=tmp_path)
    assert data.images.shape == (6, 1, 32, 32)
    assert data.labels.tolist() == labels.tolist()
    assert data.n_classes == 3
    # a pure white pixel region maps to +1, black to -1
    assert float(data.images.max()) <= 1.0 and float(data.images.min()) >= -1.0


def write_cifar_batch(path: Path, n: int, label_key: bytes, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = list(rng.integers(0, 10, size=n))
    with path.open("wb") as fh:
        pickle.dump({b"data": data, label_key: [int(v) for v in labels]}, fh, protocol=2)
    return data


def test_cifar10_python_batches(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    first = write_cifar_batch(folder / "data_batch_1", 3, b"labels", 0)
    write_cifar_batch(folder / "test_batch", 2, b"labels", 1)
    data = load_dataset("cifar10", root=tmp_path)
    assert data.images.shape == (5, 3, 32, 32)
    # channel-first rows of 1024 values: red plane of the first image
    red = torch.as_tensor(first[0, :1024].reshape(32, 32) / 255.0 * 2 - 1, dtype=torch.float32)
    torch.testing.assert_close(data.images[0, 0], red)


def test_cifar100_uses_the_20_superclasses(tmp_path: Path) -> None:
    folder = tmp_path / "cifar100"
    folder.mkdir()
    for name, seed in (("train", 0), ("test", 1)):
        with (folder / name).open("wb") as fh:
            pickle.dump(
                {
                    b"data": np.zeros((2, 3072), np.uint8),
                    b"fine_labels": [50, 99],
                    b"coarse_labels": [seed, 19],
                },
                fh,
            )
    data = load_dataset("cifar100", root=tmp_path)
    assert data.labels.tolist() == [0, 19, 1, 19]


class Exploit:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_cifar_batches_refuse_arbitrary_globals(tmp_path: Path) -> None:
    folder = tmp_path / "cifar10"
    folder.mkdir()
    with (folder / "data_batch_1").open("wb") as fh:
        pickle.dump({b"data": Exploit(), b"labels": [0]}, fh)
    with pytest.raises(DataError, match="refusing to load builtins.print"):
        load_dataset("cifar10", root=tmp_path)


def test_npz_and_class_folders(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    npz_dir = tmp_path / "tiny"
    npz_dir.mkdir()
    np.savez(
        npz_dir / "images.npz",
        x=rng.integers(0, 256, (4, 16, 16), dtype=np.uint8),
        y=np.array([0, 1, 1, 0]),
    )
    data = load_dataset("tiny", root=tmp_path)
    assert data.images.shape == (4, 1, 32, 32) and data.labels.tolist() == [0, 1, 1, 0]

    folder = tmp_path / "shapes"
    for cls in ("circle", "square"):
        (folder / cls).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 256, (20, 20), dtype=np.uint8)).save(
                folder / cls / f"{i}.png"
            )
    shapes = load_dataset(str(folder))
    assert shapes.class_names == ["circle", "square"]
    assert shapes.labels.tolist() == [0, 0, 1, 1]


def test_missing_data_is_explained(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nothing is downloaded"):
        load_dataset("fashion-mnist", root=tmp_path)
    with pytest.raises(DataError, match="unknown data set 'nope'"):
        load_dataset("nope", root=tmp_path)
