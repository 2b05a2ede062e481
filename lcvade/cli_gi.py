"""``lcvade gi``: train and evaluate the image generative-inference family (thesis ch. 6-8).

    lcvade gi train --model mpcc --data digits --steps 2000 --out runs/mpcc
    lcvade gi evaluate runs/mpcc

``train`` resumes from the checkpoint already in ``--out`` unless ``--no-resume``;
``evaluate`` prints the columns of Table 6.4 (and the clustering accuracy for VaDE/MPCC).
The options of ``train`` are generated from the fields of :class:`models.gi_train.TrainConfig`
(:mod:`lcvade.cli_options`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from lcvade.cli_options import FlagGroup, command_group, with_config_flags
from lcvade.options import validation_summary
from models.gi_train import TrainConfig

# The options of ``lcvade gi train``: every field of a run but the model's own
# hyper-parameters, which ``--set KEY=VALUE`` gives.
GI_TRAIN_FLAGS = FlagGroup.every_field(TrainConfig, key="run", exclude=["hyper"])

app = command_group(
    "gi", "The image generative-inference family (VAE ... MPCC) on the shared backbone."
)


def _parse_settings(settings: list[str]) -> dict[str, object]:
    from lcvade.options import OptionError, parse_key_values

    try:
        return parse_key_values(settings, "--set")
    except OptionError as exc:
        raise typer.BadParameter(str(exc), param_hint="--set") from exc


@app.command()
@with_config_flags(GI_TRAIN_FLAGS)
def train(
    out: Path = typer.Option(..., help="checkpoint folder (created; resumed from if present)"),
    *,
    given: dict[str, dict[str, Any]],
    setting: list[str] = typer.Option(
        [], "--set", help="model hyper-parameter KEY=VALUE, e.g. --set width=8 --set beta=0.33"
    ),
    resume: bool = typer.Option(True, help="continue from the checkpoint in --out"),
    progress: bool = typer.Option(True, help="show a progress bar"),
) -> None:
    """Train one model and write its checkpoint (safetensors + manifest.json) to --out."""
    from models.gi_train import train as run_training

    try:
        cfg = TrainConfig(**given[GI_TRAIN_FLAGS.key], hyper=_parse_settings(setting))
        result = run_training(cfg, out, resume=resume, progress=progress)
    except ValueError as exc:  # LCVaDEError and pydantic ValidationError
        typer.echo(f"error: {validation_summary(exc)}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        f"{cfg.model}: trained to step {result.step} (from {result.resumed_from}); "
        f"checkpoint in {out}"
    )


@app.command()
def evaluate(
    checkpoint: Path = typer.Argument(..., help="checkpoint folder written by 'gi train'"),
    data: str | None = typer.Option(None, help="data set (default: the one it was trained on)"),
    data_root: Path | None = typer.Option(None),
    samples: int = typer.Option(1000, min=2, help="generated images for IS/FID"),
    classifier_steps: int = typer.Option(
        600, min=1, help="training steps of the IS/FID classifier"
    ),
    classifier_width: int = typer.Option(8, min=1),
    seed: int = typer.Option(0),
    as_json: bool = typer.Option(False, "--json", help="print the row as JSON"),
) -> None:
    """Print the Table 6.4 columns of a trained model.

    IS and FID use a classifier trained here on the training split of the same data set
    (no pretrained Inception weights are available offline).
    """
    from models.classifier import GenerationScorer, train_classifier
    from models.evaluation import evaluate_model, format_table
    from models.gi_checkpoint import load_checkpoint
    from models.gi_train import training_split

    try:
        ckpt = load_checkpoint(checkpoint)
        cfg = TrainConfig.model_validate(ckpt.manifest.training)
        if data is not None:
            cfg.data = data
        if data_root is not None:
            cfg.data_root = str(data_root)
        train_set, test_set = training_split(cfg)
    except ValueError as exc:  # LCVaDEError and pydantic ValidationError
        typer.echo(f"error: {validation_summary(exc)}", err=True)
        raise typer.Exit(2) from exc
    reference = test_set if len(test_set) > 1 else train_set
    classifier = train_classifier(
        train_set, width=classifier_width, steps=classifier_steps, seed=seed
    )
    scorer = GenerationScorer(classifier, reference)
    row = evaluate_model(ckpt.model, train_set, test_set, scorer, n_generated=samples, seed=seed)
    name = f"{ckpt.manifest.model} (step {ckpt.manifest.step})"
    if as_json:
        typer.echo(json.dumps({"model": name, **row}, indent=2))
    else:
        typer.echo(format_table({name: row}))
        typer.echo(
            f"\nIS/FID classifier: {classifier_steps} steps on {cfg.data} (train split), "
            f"accuracy {100 * scorer.reference_accuracy:.1f}% on the FID reference images"
        )
