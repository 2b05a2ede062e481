"""How far apart LC-VaDE's codes are: the encoder with and without spectral normalisation.

Trains on the ASAS-5 split with Classical_Cepheid as the outlier (seed 0, the recommended
configuration except for the row's encoder and features) and prints, for the training
curves, the mean norm of the means of q(z|x), their standard deviation across curves
(averaged over the J dimensions), the mean variance of q(z|x), and the mean distance between
the prior's components -- at initialisation and after training.  A representation whose
codes do not spread carries nothing for eq. 9.12 to score.

Example (the command behind docs/quality.md)::

    python benchmarks/code_spread.py --epochs 15
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROWS = {
    "thesis encoder (spectral norm), thesis features": {
        "encoder_spectral_norm": True,
        "latent_label_weight": 0.0,
        "feature_set": "thesis",
    },
    "plain encoder, thesis features": {
        "encoder_spectral_norm": False,
        "latent_label_weight": 0.0,
        "feature_set": "thesis",
    },
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--workdir", type=Path, default=Path("code-spread"))
    args = parser.parse_args(argv)
    print("command:", shlex.join(["python", "benchmarks/code_spread.py", *(argv or sys.argv[1:])]))

    import torch

    from benchmarks.quality_ablation import DATA, load
    from training.baselines.lcvade_methods import train_model
    from training.baselines.protocol import MethodSettings, OutlierTask
    from training.split import outlier_split

    torch.set_num_threads(1)
    data, _ = load("asas5", DATA, args.workdir)
    task = OutlierTask.from_split(
        data, outlier_split(data.ids, data.labels, "Classical_Cepheid", 0)
    )
    header = ["encoder", "epochs", "code norm", "code std across curves", "var of q(z\\|x)"]
    print("| " + " | ".join([*header, "prior spacing"]) + " |")
    print("|---|---|---|---|---|---|")
    for name, options in ROWS.items():
        for epochs in (0, args.epochs):
            settings = MethodSettings(
                epochs=max(epochs, 1), seed=0, model={"channels": 16, **options}
            )
            config = settings.lcvade_config(len(task.class_names), task.bands)
            if epochs == 0:
                from lcvade.model import LCVaDE
                from training.trainer import TrainingSet

                torch.manual_seed(0)
                model = LCVaDE(config).eval()
                batch = TrainingSet.build(
                    model, task.train.curves, task.train.periods, task.train_label_index()
                ).batch
            else:
                model, tset = train_model(task.train, task.train_label_index(), config, settings)
                batch = tset.batch
            with torch.no_grad():
                mean, logvar = model.encode(batch)
                spacing = torch.cdist(model.prior.z_mean, model.prior.z_mean)
                k = spacing.shape[0]
                spacing = float(spacing.sum() / (k * (k - 1)))
            print(
                f"| {name} | {epochs} | {float(mean.norm(dim=1).mean()):.3f} | "
                f"{float(mean.std(0).mean()):.4f} | {float(logvar.exp().mean()):.3f} | "
                f"{spacing:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
