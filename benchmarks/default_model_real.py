"""The default model on real light curves: flags on held-out inliers, accuracy, other surveys.

Given a model directory (default: the bundled model) and the labelled real sets of
``--data-dir`` (default ``../shared/data/lightcurves`` beside the repository), it scores
every curve with no period given, so periods come from the scorer's own search, and prints
five tables:

1. held-out real inliers of the training surveys (CRTS periodic variables, ASAS): the
   fraction flagged at p < 0.01 and p < 0.05, and the class accuracy, per class and per class
   family (:mod:`training.class_families`).  An object is an inlier when its label, or the
   class common to the catalogues for it (:data:`training.class_families.COMMON_CLASS`), is
   one of the model's classes ("counted by" class), or -- for a model whose class names are
   another catalogue's -- when only its family is the family of one of the model's classes
   ("counted by" family; reported apart).  Accuracy is the exact class where there is one,
   and the family always;
2. SDSS Stripe 82 RR Lyrae, band ``--s82-band`` (default g) read as the model's band, the
   periods searched in all five bands (``--no-s82-search-all-bands``: in that band only):
   fraction flagged at the default rule (p < 0.01), fraction called RR Lyrae (family), and
   fraction of periods within 1% of the catalogue's;
3. ASAS stars of classes the model does not have (RCB, T Tauri, Be stars, ...): the fraction
   flagged, for information -- they are variables of other kinds, not necessarily anomalies;
4. ZTF type Ia supernovae, band R (ZTF r) read as the model's band (g points are not read,
   as a band the model does not know, but the period search uses them): how many can be
   scored, why the rest cannot (reasons
   counted), and the fraction flagged.

``--out FILE`` writes every scored row with the table it belongs to.

**Which objects the model saw.** ``lcvade train`` writes ``object_ids.json`` into the model
directory: the ids of the objects of the fit, of the calibration slice and of the test set.
The held-out set of table 1 is every CRTS or ASAS object whose id is in neither ``fit`` nor
``calibration`` (CRTS objects sharing a position group with a seen object are left out too).
Without that file the benchmark stops, unless ``--all-unseen`` says the model saw none of
these surveys' curves (as for a model trained on simulated curves only).

Example::

    python benchmarks/default_model_real.py --all-unseen --max-per-class 60
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "lightcurves"
OBJECT_IDS_FILE = "object_ids.json"


def read_set(directory: Path, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    objects = pd.read_parquet(directory / f"{name}_objects.parquet")
    rows = pd.read_parquet(directory / f"{name}_lightcurves.parquet")
    return objects, rows


def sample(objects: pd.DataFrame, per_class: int | None, seed: int) -> pd.DataFrame:
    """At most ``per_class`` objects of every label, drawn with ``seed``."""
    if per_class is None:
        return objects
    parts = [
        group.sample(min(per_class, len(group)), random_state=seed)
        for _, group in objects.groupby("label", sort=True)
    ]
    return pd.concat(parts)


def score(scorer, objects: pd.DataFrame, rows: pd.DataFrame, band_map: dict[str, str]):
    """Result rows of ``objects`` through the batch path (no periods given: the scorer's own
    search finds them, in every band of the object with enough points; the model reads its
    band)."""
    from training.scoring.photometry_rows import photometry_frame
    from training.scoring.results import results_to_pandas, score_rows

    ids = set(objects["object_id"].astype(str))
    chosen = rows[rows["object_id"].astype(str).isin(ids)]
    band = chosen["band"].astype(str).map(lambda b: band_map.get(b, b))
    photometry = photometry_frame(
        chosen["object_id"].astype(str).to_numpy(),
        chosen["time"].to_numpy(),
        chosen["mag"].to_numpy(),
        chosen["mag_err"].to_numpy(),
        band.to_numpy(),
    )
    table = score_rows(scorer, photometry, None, n_jobs=None, band_map=band_map)
    results = results_to_pandas(table).set_index("object_id")
    labels = objects.assign(object_id=objects["object_id"].astype(str)).set_index("object_id")
    return results.join(labels[["label"]], how="left")


def seen_ids(model_dir: Path, all_unseen: bool) -> set[str]:
    path = model_dir / OBJECT_IDS_FILE
    if path.is_file():
        record = json.loads(path.read_text(encoding="utf-8"))
        return {str(i) for i in record.get("fit", []) + record.get("calibration", [])}
    if all_unseen:
        return set()
    raise SystemExit(
        f"{path} not found: the benchmark cannot tell which curves the model saw. Give "
        "--all-unseen if the model was trained on none of the CRTS and ASAS curves"
    )


def inlier_rule(label: str, classes: set[str], class_families: set[str]) -> str | None:
    """``"class"`` when ``label``, or its common class across catalogues, is a model class;
    ``"family"`` when only its family is one of the model's; else None (not an inlier)."""
    from training.class_families import OTHER, family_of

    if model_class(label, classes) is not None:
        return "class"
    family = family_of(label)
    return "family" if family != OTHER and family in class_families else None


def model_class(label: str, classes: set[str]) -> str | None:
    """The model class a catalogue ``label`` stands for (None when there is none)."""
    from training.class_families import common_class

    if label in classes:
        return label
    common = common_class(label)
    return common if common in classes else None


def table_inliers(results: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Per class and family: n, flagged at 0.01 and 0.05, class and family accuracy."""
    from training.class_families import family_of

    ok = results[results["status"] == "ok"].copy()
    ok["family"] = ok["label"].map(family_of)
    ok["predicted_family"] = ok["predicted_class"].map(family_of)
    ok["flag01"] = ok["p_value"] < 0.01
    ok["flag05"] = ok["p_value"] < 0.05
    truth = ok["label"].map(lambda y: model_class(y, set(classes)))
    ok["class_ok"] = np.where(truth.notna(), truth == ok["predicted_class"], np.nan)
    ok["family_ok"] = ok["family"] == ok["predicted_family"]

    def summary(group: pd.DataFrame) -> pd.Series:
        return pd.Series(
            {
                "n": len(group),
                "p<0.01": group["flag01"].mean(),
                "p<0.05": group["flag05"].mean(),
                "class acc": group["class_ok"].mean()
                if group["class_ok"].notna().any()
                else np.nan,
                "family acc": group["family_ok"].mean(),
            }
        )

    by_class = ok.groupby(["survey", "family", "label", "counted_by"]).apply(summary)
    by_family = ok.groupby(["family"]).apply(summary)
    by_class["n"] = by_class["n"].astype(int)
    by_family["n"] = by_family["n"].astype(int)
    totals = ok.groupby("counted_by").apply(summary)
    totals.loc["all"] = summary(ok)
    return by_class, by_family, totals, len(results) - len(ok)


def reason_kind(reason: str) -> str:
    """A rejection reason with its numbers blanked, to count reasons of one kind together."""
    return re.sub(r"\d+(\.\d+)?", "#", str(reason))[:160]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default", help="model directory or bundled name")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--all-unseen", action="store_true", help="the model saw no real curve")
    parser.add_argument("--max-per-class", type=int, default=None, help="subsample per label")
    parser.add_argument("--seed", type=int, default=0, help="seed of the subsample")
    parser.add_argument("--s82-band", default="g", help="Stripe 82 band read as the model's")
    parser.add_argument(
        "--s82-search-all-bands",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="give the Stripe 82 curves in every band, so that the batch path searches their "
        "periods in all five (--no-s82-search-all-bands: only the band read is given); the "
        "model reads one band either way",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument(
        "--out", type=Path, default=None, help="write every scored row here (Parquet)"
    )
    args = parser.parse_args(argv)
    print(
        "command:",
        shlex.join(["python", "benchmarks/default_model_real.py", *(argv or sys.argv[1:])]),
    )

    import torch

    import lcvade
    from lcvade.scorer import resolve_model_path
    from training.class_families import family_of

    torch.set_num_threads(args.threads)
    model_dir = resolve_model_path(args.model)
    scorer = lcvade.load(model_dir, device="cpu")
    classes = scorer.class_names
    model_band = (scorer.config.bands or ["mag"])[0]
    print(
        f"model: {model_dir} ({scorer.name} v{scorer.version}), classes {classes}, "
        f"band {model_band}, feature set {scorer.config.feature_set}, "
        f"calibration size {len(scorer.calibration) if scorer.calibration else 0}"
    )
    seen = seen_ids(model_dir, args.all_unseen)
    class_families = {family_of(c) for c in classes}
    started = time.perf_counter()

    # 1. held-out inliers of the training surveys
    parts = []
    for name, band in (("crts_train", "CSS_V"), ("asas", "V")):
        objects, rows = read_set(args.data_dir, name)
        objects = objects.assign(object_id=objects["object_id"].astype(str))
        unseen = ~objects["object_id"].isin(seen)
        if "pos_group" in objects.columns and seen:
            touched = set(objects.loc[~unseen, "pos_group"])
            unseen &= ~objects["pos_group"].isin(touched)
        rule = objects["label"].map(lambda y: inlier_rule(y, set(classes), class_families))
        held = objects[unseen & rule.notna()].assign(counted_by=rule[unseen & rule.notna()])
        held = sample(held, args.max_per_class, args.seed)
        results = score(scorer, held, rows, {band: model_band})
        results = results.join(held.set_index("object_id")[["counted_by"]], how="left")
        parts.append(results.assign(survey=name))
        print(
            f"{name}: {len(objects)} objects, {int((~unseen).sum())} seen by the model, "
            f"{len(held)} held-out inliers scored ({band} read as {model_band})"
        )
    inliers = pd.concat(parts)
    saved = [inliers.assign(table="held-out inliers")]
    by_class, by_family, totals, rejected = table_inliers(inliers, classes)
    pd.set_option("display.width", 160)
    print("\n## Held-out real inliers of the training surveys (periods searched)\n")
    print(by_class.to_string(float_format=lambda v: f"{v:.3f}"))
    print("\nby family:\n")
    print(by_family.to_string(float_format=lambda v: f"{v:.3f}"))
    print("\nin all (counted by: class = a model class, family = only its family is):\n")
    totals["n"] = totals["n"].astype(int)
    print(totals.to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"{rejected} could not be scored")

    # 2. Stripe 82 RR Lyrae: one band read, every band searched for the period
    objects, rows = read_set(args.data_dir, "sdss_s82_rrlyrae")
    objects = sample(objects, args.max_per_class, args.seed)
    if not args.s82_search_all_bands:
        rows = rows[rows["band"] == args.s82_band]
    s82 = score(scorer, objects, rows, {args.s82_band: model_band})
    saved.append(s82.assign(table="Stripe 82"))
    ok = s82[s82["status"] == "ok"]
    searched = "ugriz searched" if args.s82_search_all_bands else "searched in that band"
    print(
        f"\n## SDSS Stripe 82 RR Lyrae ({args.s82_band} read as {model_band}, periods {searched})\n"
    )
    catalogue = objects.assign(object_id=objects["object_id"].astype(str)).set_index("object_id")
    within = (ok["period"] / catalogue.loc[ok.index, "period"] - 1).abs() < 0.01
    print(
        f"scored {len(ok)} of {len(s82)}; flagged at p < {scorer.p_value_threshold}: "
        f"{(ok['p_value'] < scorer.p_value_threshold).mean():.3f}; called RR Lyrae: "
        f"{(ok['predicted_class'].map(family_of) == 'RR Lyrae').mean():.3f}; period within 1% "
        f"of the catalogue's: {within.mean():.3f}"
    )

    # 2b. ASAS stars of classes the model does not have (not anomalies: other variables)
    objects, rows = read_set(args.data_dir, "asas")
    objects = objects.assign(object_id=objects["object_id"].astype(str))
    rule = objects["label"].map(lambda y: inlier_rule(y, set(classes), class_families))
    others = objects[rule.isna()]
    if len(others):
        result = score(scorer, others, rows, {"V": model_band})
        saved.append(result.assign(table="ASAS other classes"))
        ok = result[result["status"] == "ok"]
        flagged = (
            (ok["p_value"] < scorer.p_value_threshold).groupby(ok["label"]).agg(["size", "mean"])
        )
        print("\n## ASAS stars of classes the model does not have (fraction flagged)\n")
        print(flagged.rename(columns={"size": "n", "mean": "flagged"}).to_string())
        print(f"all: {(ok['p_value'] < scorer.p_value_threshold).mean():.3f} of {len(ok)}")

    # 3. ZTF SNe Ia
    objects, rows = read_set(args.data_dir, "ztf_bts_snia")
    objects = sample(objects, args.max_per_class, args.seed)
    ztf = score(scorer, objects, rows, {"R": model_band})
    saved.append(ztf.assign(table="ZTF SNe Ia"))
    ok = ztf[ztf["status"] == "ok"]
    print(
        f"\n## ZTF SNe Ia (R = ZTF r read as {model_band}; g not read, but searched for the "
        "period)\n"
    )
    print(
        f"objects {len(ztf)}; scored {len(ok)}; flagged at p < {scorer.p_value_threshold}: "
        f"{(ok['p_value'] < scorer.p_value_threshold).mean():.3f}"
    )
    reasons = Counter(reason_kind(r) for r in ztf.loc[ztf["status"] != "ok", "reason"])
    for reason, count in reasons.most_common():
        print(f"  not scored, {count}: {reason}")
    if args.out is not None:
        frame = pd.concat(saved).reset_index()
        for column in frame.columns:
            if pd.api.types.is_object_dtype(frame[column]):
                frame[column] = frame[column].map(lambda v: v if v is None else str(v))
        frame.to_parquet(args.out, index=False)
        print(f"rows written to {args.out}")
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
