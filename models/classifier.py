"""The classifier behind IS and FID, trained on the same data set (section 6.3.3).

The thesis scores MNIST and Fashion-MNIST with a classifier trained on their own training
sets, with the encoder's architecture and a softmax output over the classes instead of the
J-dimensional heads.  No pretrained Inception network can be fetched here, so every data set
is scored that way, CIFAR included: the numbers are comparable between models trained on
the same data, not with published Inception-based IS/FID values.

FID uses the flattened ``2 x 2 x 4C`` features in front of the softmax layer; its reference
statistics come from the held-out test images (section 6.3.3).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.backbone import ResBlockDown, sn_linear
from models.images import ImageData
from models.metrics import frechet_distance, inception_score
from models.networks import ENCODER_SIZE, Trunk


class ImageClassifier(nn.Module):
    """The encoder of Table 6.2 with one linear softmax layer over the classes."""

    def __init__(self, width: int, channels: int, n_classes: int) -> None:
        super().__init__()
        wide = 4 * width
        self.trunk = Trunk(width, channels)
        self.tail = nn.Sequential(ResBlockDown(2, wide, wide), ResBlockDown(2, wide, wide))
        self.out = sn_linear(ENCODER_SIZE * ENCODER_SIZE * wide, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.tail(self.trunk(x)), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))


def train_classifier(
    data: ImageData,
    *,
    width: int = 8,
    steps: int = 600,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
) -> ImageClassifier:
    """Train the scoring classifier with Adam on ``data`` (seeded); returned in eval mode."""
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        clf = ImageClassifier(width, data.channels, data.n_classes)
    opt = torch.optim.Adam(clf.parameters(), lr=lr)
    clf.train()
    for _ in range(steps):
        idx = torch.randint(0, len(data), (batch_size,), generator=gen)
        loss = F.cross_entropy(clf(data.images[idx]), data.labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return clf.eval()


@torch.no_grad()
def _apply(clf: ImageClassifier, images: torch.Tensor, batch_size: int = 250):
    feats, probs = [], []
    for batch in images.split(batch_size):
        f = clf.features(batch)
        feats.append(f)
        probs.append(F.softmax(clf.out(f), dim=1))
    return torch.cat(feats), torch.cat(probs)


class GenerationScorer:
    """IS (eq. 2.6) and FID (eq. 2.8) of generated images, against fixed real images."""

    def __init__(self, classifier: ImageClassifier, reference: ImageData) -> None:
        self.classifier = classifier.eval()
        self.reference_features, probs = _apply(self.classifier, reference.images)
        self.reference_accuracy = float((probs.argmax(1) == reference.labels).double().mean())

    def score(self, images: torch.Tensor) -> dict[str, float]:
        feats, probs = _apply(self.classifier, images)
        return {
            "IS": inception_score(probs),
            "FID": frechet_distance(feats, self.reference_features),
        }
