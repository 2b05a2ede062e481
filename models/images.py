"""Image data sets for the image family, all as ``(N, D, 32, 32)`` tensors in [-1, 1].

Section 8.1.1: every image is rescaled to 32x32 and to [-1, 1].  Nothing is downloaded:

* ``digits``: scikit-learn's bundled handwritten digits (1,797 real 8x8 images, 10 classes),
  upsampled bilinearly; always available.
* ``mnist`` / ``fashion-mnist``: the original idx files (optionally gzipped) in a local folder.
* ``cifar10`` / ``cifar100``: the "python version" batches in a local folder.  They are
  pickles, so they are read with an unpickler that only admits plain containers and NumPy
  arrays and refuses every other global.  CIFAR-100 uses its 20 superclasses by default
  (CIFAR-20, section 8.1.1).
* any other name: a folder under the image root (``../shared/data/images`` beside the
  repository, or ``root``) holding one of the formats above, an ``images.npz`` with arrays
  ``x`` (N, H, W[, C]) and ``y`` (N,), or one sub-folder of image files per class.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from models.errors import LCVaDEError
from models.networks import IMAGE_SIZE

DEFAULT_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "images"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm")


class DataError(LCVaDEError):
    """A data set cannot be found or read; the message says what to fix."""


@dataclass
class ImageData:
    """Images ``(N, D, 32, 32)`` in [-1, 1] with integer labels ``(N,)``."""

    name: str
    images: torch.Tensor
    labels: torch.Tensor
    class_names: list[str]

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.shape[2:] != (IMAGE_SIZE, IMAGE_SIZE):
            raise DataError(f"{self.name}: images must be (N, D, 32, 32), got {self.images.shape}")
        if self.labels.shape != (self.images.shape[0],):
            raise DataError(f"{self.name}: one label per image is needed")

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def subset(self, index: torch.Tensor, suffix: str) -> ImageData:
        return ImageData(
            f"{self.name}:{suffix}", self.images[index], self.labels[index], self.class_names
        )

    def split(self, test_fraction: float = 0.2, seed: int = 0) -> tuple[ImageData, ImageData]:
        """A stratified train/test split, the same for the same seed."""
        gen = torch.Generator().manual_seed(seed)
        train, test = [], []
        for c in range(self.n_classes):
            idx = torch.nonzero(self.labels == c).squeeze(1)
            idx = idx[torch.randperm(len(idx), generator=gen)]
            n_test = int(round(test_fraction * len(idx)))
            test.append(idx[:n_test])
            train.append(idx[n_test:])
        return self.subset(torch.cat(train).sort().values, "train"), self.subset(
            torch.cat(test).sort().values, "test"
        )

    def digest(self) -> str:
        """SHA-256 of the images and labels (recorded in checkpoints)."""
        h = hashlib.sha256()
        h.update(self.images.numpy().tobytes())
        h.update(self.labels.numpy().tobytes())
        return h.hexdigest()


def to_model_range(pixels: np.ndarray, max_value: float) -> torch.Tensor:
    """Pixels ``(N, H, W[, C])`` in [0, max_value] -> ``(N, C, 32, 32)`` in [-1, 1]."""
    arr = np.asarray(pixels, dtype=np.float32) / float(max_value)
    if arr.ndim == 3:
        arr = arr[:, None]
    elif arr.ndim == 4:
        arr = arr.transpose(0, 3, 1, 2)
    else:
        raise DataError(f"images must be (N, H, W) or (N, H, W, C), got shape {arr.shape}")
    x = torch.from_numpy(np.ascontiguousarray(arr))
    if x.shape[2:] != (IMAGE_SIZE, IMAGE_SIZE):
        x = F.interpolate(x, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", align_corners=False)
    return (x.clamp(0.0, 1.0) * 2.0 - 1.0).contiguous()


def load_digits_data() -> ImageData:
    """scikit-learn's bundled 8x8 digits (values 0..16), upsampled to 32x32."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = to_model_range(bunch.images, 16.0)
    labels = torch.as_tensor(bunch.target, dtype=torch.int64)
    return ImageData("digits", images, labels, [str(i) for i in range(10)])


# -- idx files (MNIST, Fashion-MNIST) -------------------------------------------------------------
def _open_maybe_gzip(path: Path) -> bytes:
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def read_idx(path: Path) -> np.ndarray:
    """One idx file (the MNIST format): magic, dimensions, then big-endian data."""
    raw = _open_maybe_gzip(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path} is not an idx file")
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    code, ndim = raw[2], raw[3]
    if code not in dtypes:
        raise DataError(f"{path}: unknown idx data type 0x{code:02x}")
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=dtypes[code], offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise DataError(f"{path}: expected {int(np.prod(shape))} values, found {data.size}")
    return data.reshape(shape)


def _find(folder: Path, stem: str) -> Path | None:
    for candidate in (
        stem,
        stem + ".gz",
        stem.replace("-idx", ".idx"),
        stem.replace("-idx", ".idx") + ".gz",
    ):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


def load_idx_folder(folder: Path, name: str, class_names: list[str] | None = None) -> ImageData:
    """Train and test idx files of a folder, concatenated (section 8.1.1)."""
    images, labels = [], []
    for part in ("train", "t10k"):
        img = _find(folder, f"{part}-images-idx3-ubyte")
        lab = _find(folder, f"{part}-labels-idx1-ubyte")
        if img is None or lab is None:
            continue
        images.append(read_idx(img))
        labels.append(read_idx(lab))
    if not images:
        raise DataError(
            f"no idx files in {folder}: expected train-images-idx3-ubyte[.gz] and "
            "train-labels-idx1-ubyte[.gz] (and optionally the t10k-* pair)"
        )
    y = np.concatenate(labels).astype(np.int64)
    n_classes = int(y.max()) + 1
    names = class_names or [str(i) for i in range(n_classes)]
    return ImageData(
        name, to_model_range(np.concatenate(images), 255.0), torch.from_numpy(y), names
    )


# -- CIFAR python batches -------------------------------------------------------------------------
class _ArrayUnpickler(pickle.Unpickler):
    """Admits only what a CIFAR batch holds: dicts, lists, bytes, str, numbers, NumPy arrays."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # bytes as written by Python 3's protocol 2
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise DataError(f"refusing to load {module}.{name} from a data batch")
        from numpy._core import multiarray

        if module == "_codecs":
            return codecs.encode
        if name in ("_reconstruct", "scalar"):
            return getattr(multiarray, name)
        return getattr(np, name)


def read_cifar_batch(path: Path) -> dict:
    """One CIFAR "python version" batch, read with the restricted unpickler."""
    try:
        batch = _ArrayUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise DataError(f"{path} is not a CIFAR python batch ({exc})") from exc
    if not isinstance(batch, dict):
        raise DataError(f"{path} is not a CIFAR python batch")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}


def load_cifar_folder(folder: Path, name: str, coarse: bool = True) -> ImageData:
    """CIFAR-10 (``data_batch_*``, ``test_batch``) or CIFAR-100 (``train``, ``test``)."""
    files = sorted(folder.glob("data_batch_*")) + sorted(folder.glob("test_batch"))
    label_key = "labels"
    if not files:
        files = [p for p in (folder / "train", folder / "test") if p.is_file()]
        label_key = "coarse_labels" if coarse else "fine_labels"
    if not files:
        raise DataError(
            f"no CIFAR batches in {folder}: expected data_batch_1..5 and test_batch "
            "(CIFAR-10) or train and test (CIFAR-100), python version"
        )
    images, labels = [], []
    for path in files:
        batch = read_cifar_batch(path)
        if "data" not in batch or label_key not in batch:
            raise DataError(f"{path} has no 'data'/'{label_key}' entries")
        data = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        images.append(data.transpose(0, 2, 3, 1))
        labels.append(np.asarray(batch[label_key], dtype=np.int64))
    y = np.concatenate(labels)
    names = [str(i) for i in range(int(y.max()) + 1)]
    return ImageData(
        name, to_model_range(np.concatenate(images), 255.0), torch.from_numpy(y), names
    )


# -- generic folders ------------------------------------------------------------------------------
def load_npz(path: Path, name: str) -> ImageData:
    with np.load(path, allow_pickle=False) as npz:
        if "x" not in npz or "y" not in npz:
            raise DataError(f"{path} needs arrays 'x' (N, H, W[, C]) and 'y' (N,)")
        x, y = npz["x"], npz["y"].astype(np.int64)
    max_value = 255.0 if x.dtype == np.uint8 or float(x.max()) > 1.0 else 1.0
    names = [str(i) for i in range(int(y.max()) + 1)]
    return ImageData(name, to_model_range(x, max_value), torch.from_numpy(y), names)


def load_image_folder(folder: Path, name: str) -> ImageData:
    """One sub-folder per class, image files inside (read with Pillow)."""
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - Pillow ships with the environment
        raise DataError("reading image folders needs Pillow (pip install pillow)") from exc
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    arrays, labels = [], []
    for c, cls in enumerate(classes):
        for path in sorted((folder / cls).iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                with Image.open(path) as img:
                    arrays.append(np.asarray(img.convert("L").resize((IMAGE_SIZE, IMAGE_SIZE))))
                labels.append(c)
    if not arrays:
        raise DataError(f"no images in the class folders of {folder}")
    y = torch.as_tensor(labels, dtype=torch.int64)
    return ImageData(name, to_model_range(np.stack(arrays), 255.0), y, classes)


def load_folder(folder: Path, name: str) -> ImageData:
    """Detect the format of a local folder and load it."""
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder")
    entries = {p.name for p in folder.iterdir()}
    if any("idx3-ubyte" in e or "idx3.ubyte" in e for e in entries):
        return load_idx_folder(folder, name)
    if (
        any(e.startswith("data_batch_") for e in entries)
        or {"train", "test"} <= entries
        and (folder / "train").is_file()
    ):
        return load_cifar_folder(folder, name)
    if "images.npz" in entries:
        return load_npz(folder / "images.npz", name)
    if any((folder / e).is_dir() for e in entries):
        return load_image_folder(folder, name)
    raise DataError(f"{folder} holds no known image data set format")


ALIASES = {
    "mnist": ("mnist",),
    "fashion-mnist": ("fashion-mnist", "fashion_mnist", "fmnist"),
    "cifar10": ("cifar10", "cifar-10", "cifar-10-batches-py"),
    "cifar100": ("cifar100", "cifar-100", "cifar-100-python"),
}


def load_dataset(name: str, root: str | Path | None = None) -> ImageData:
    """Load a data set by name (``digits``, ``mnist``, ``fashion-mnist``, ``cifar10``,
    ``cifar100`` or a folder name under the image root) or by path to a folder."""
    if name == "digits":
        return load_digits_data()
    path = Path(name)
    if path.is_dir():
        return load_folder(path, path.name)
    base = Path(root) if root is not None else DEFAULT_ROOT
    key = name.lower()
    for canonical, folders in ALIASES.items():
        if key == canonical or key in folders:
            for folder in folders:
                if (base / folder).is_dir():
                    return load_folder(base / folder, canonical)
            raise DataError(
                f"{canonical} not found: put its files in {base / folders[0]} "
                "(nothing is downloaded)"
            )
    if (base / name).is_dir():
        return load_folder(base / name, name)
    known = sorted(p.name for p in base.iterdir()) if base.is_dir() else []
    raise DataError(
        f"unknown data set {name!r}: use 'digits', a folder path, or one of the folders in "
        f"{base}: {known or 'none found'}"
    )
