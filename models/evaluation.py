"""One row of Table 6.4 for a trained model, plus the clustering accuracy of section 8.1.2.

Columns (computed on the training split, as in the thesis, except where noted):

* ``LL in X``: log of the mean squared error between x and its reconstruction
  p(x|z = mu(x)) (Table 6.4 reports the MSE on this log scale; lower is better);
* ``LL in Z``: log of the mean squared error between z ~ p(z) and the encoder mean of its
  decoded image, mu(x~) (the encoder's likelihood E_p(x,z)[log q(z|x)], eq. 6.1);
* ``D_KL^Z``, ``D_KL^VAE``, ``I~_q(x,z)``, ``h_q(z|x)``: :func:`models.metrics.latent_metrics`;
* ``IS``, ``FID``: from generated images and the classifier of :mod:`models.classifier`,
  FID against the test split;
* ``Acc%``: linear probe trained on the training codes, scored on the test codes;
* ``Clust%``: clustering accuracy (eq. 8.1) of argmax_k q(y=k|mu(x)) over train and test
  (models with a mixture prior only).
"""

from __future__ import annotations

import copy
import math

import torch

from models.base import GIModel
from models.classifier import GenerationScorer
from models.images import ImageData
from models.metrics import clustering_accuracy, latent_metrics, linear_probe_accuracy

COLUMNS = (
    "LL in X",
    "LL in Z",
    "D_KL^Z",
    "D_KL^VAE",
    "I~_q(x,z)",
    "h_q(z|x)",
    "IS",
    "FID",
    "Acc%",
    "Clust%",
)


@torch.no_grad()
def encode_all(
    model: GIModel, images: torch.Tensor, batch_size: int = 250
) -> tuple[torch.Tensor, torch.Tensor]:
    mus, logvars = [], []
    for batch in images.split(batch_size):
        mu, logvar = model.encode(batch)
        mus.append(mu)
        logvars.append(logvar)
    return torch.cat(mus), torch.cat(logvars)


@torch.no_grad()
def generate(model: GIModel, n: int, batch_size: int = 250) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` generated images and the codes they came from."""
    images, codes = [], []
    for start in range(0, n, batch_size):
        x, z, _ = model.sample(min(batch_size, n - start))
        images.append(x)
        codes.append(z)
    return torch.cat(images), torch.cat(codes)


@torch.no_grad()
def evaluate_model(
    model: GIModel,
    train: ImageData,
    test: ImageData,
    scorer: GenerationScorer | None = None,
    *,
    n_generated: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """The Table 6.4 row of ``model`` (a copy is put in evaluation mode; the model itself is
    left untouched so that training can go on)."""
    model = copy.deepcopy(model)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model.prepare_for_evaluation()
        mu, logvar = encode_all(model, train.images)
        recon = torch.cat([model.decode(m, model.cluster(m)) for m in mu.split(250)])
        row: dict[str, float] = {"LL in X": math.log(float((recon - train.images).pow(2).mean()))}
        fake, z = generate(model, n_generated)
        mu_fake, _ = encode_all(model, fake)
        row["LL in Z"] = math.log(float((mu_fake - z).pow(2).mean()))
        latent = latent_metrics(mu, logvar, model.prior, seed=seed)
        row.update(
            {
                "D_KL^Z": latent["KL_z"],
                "D_KL^VAE": latent["KL_vae"],
                "I~_q(x,z)": latent["I_q(x,z)"],
                "h_q(z|x)": latent["h_q(z|x)"],
            }
        )
        if scorer is not None:
            row.update(scorer.score(fake))
        if len(test) > 0:
            mu_test, _ = encode_all(model, test.images)
            row["Acc%"] = 100.0 * linear_probe_accuracy(
                mu.numpy(), train.labels.numpy(), mu_test.numpy(), test.labels.numpy(), seed
            )
        if model.prior.is_mixture:
            row["Clust%"] = 100.0 * clustering_of(model, [train, test])
    return row


@torch.no_grad()
def clustering_of(model: GIModel, sets: list[ImageData]) -> float:
    """Clustering accuracy (eq. 8.1) of the model's clusters over the given sets together."""
    labels, clusters = [], []
    for data in sets:
        if len(data) == 0:
            continue
        mu, _ = encode_all(model, data.images)
        clusters.append(model.cluster(mu))
        labels.append(data.labels)
    return clustering_accuracy(torch.cat(labels).numpy(), torch.cat(clusters).numpy())


def format_table(rows: dict[str, dict[str, float]], columns: tuple[str, ...] = COLUMNS) -> str:
    """A markdown table, one row per model; missing values print as ``-``.

    A ``|`` inside a column name is escaped as ``\\|`` so that the table stays well formed.
    """
    used = [c for c in columns if any(c in r for r in rows.values())]
    head = "| Model | " + " | ".join(c.replace("|", "\\|") for c in used) + " |"
    rule = "|---|" + "|".join("---:" for _ in used) + "|"
    lines = [head, rule]
    for name, row in rows.items():
        cells = [_fmt(row.get(c)) for c in used]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(value: float | str | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    return f"{value:.2f}"
