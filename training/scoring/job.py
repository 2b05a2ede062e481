"""One part of a batch-scoring run: the run's settings, the task of one part, and the
function that scores it.

Both runners share this unit of work: the single-process run
(:mod:`training.scoring.run`) and the Dask run (:mod:`training.scoring.dask_run`) call
:func:`score_part` on the same staged buckets, so their rows and scores are the same.
"""

from __future__ import annotations

import gc
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lcvade.calibration import DEFAULT_P_VALUE_THRESHOLD
from lcvade.process_memory import release_memory
from lcvade.scorer import Scorer
from training.scoring.alert_quality import AlertCuts
from training.scoring.curves import BandPolicy, MultiBandPolicy, SparseBandPolicy, UnknownBandPolicy
from training.scoring.output import write_part
from training.scoring.results import Progress, score_rows
from training.scoring.staging import read_bucket


class ScoreJobConfig(BaseModel):
    """Settings of a batch-scoring run (loadable from TOML, overridden on the command line)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    chunk_size: int = Field(default=10_000, ge=1, description="objects per output part (about)")
    band_policy: MultiBandPolicy = Field(
        default="best",
        description="model of one band, object with several: best = the band with most "
        "points, merge = all points as one band, require = reject the object",
    )
    unknown_bands: UnknownBandPolicy = Field(
        default="drop", description="points in bands the model does not know: drop or reject"
    )
    sparse_bands: SparseBandPolicy = Field(
        default="drop",
        description="a band with too few points while another has enough: drop or reject",
    )
    band_map: dict[str, str] = Field(
        default_factory=dict,
        description="rename input bands, e.g. 1=g,2=r,3=i for ZTF filter ids",
    )
    p_value_threshold: float = Field(
        default=DEFAULT_P_VALUE_THRESHOLD,
        gt=0,
        lt=1,
        description="without fdr: is_anomaly = p_value < this",
    )
    fdr: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="flag anomalies by Benjamini-Hochberg at this false-discovery rate q over "
        "the run",
    )
    batch_size: int = Field(default=256, ge=1, description="curves per model forward pass")
    device: str = Field(default="auto", description="auto, cpu, cuda, cuda:1 ...")
    scheduler: str = Field(
        default="none",
        description="none (this process), local (a Dask LocalCluster) or a Dask scheduler "
        "address such as tcp://host:8786",
    )
    workers: int = Field(default=2, ge=1, description="workers of --scheduler local")
    threads: int | None = Field(
        default=1,
        ge=1,
        description="PyTorch threads without Dask (None: PyTorch's default). One thread, as on "
        "Dask workers, makes the scores identical to a Dask run's; more threads may change "
        "them in the last float32 digits; the period search always uses every core",
    )
    staging_buffer_rows: int = Field(
        default=250_000, ge=1000, description="rows read and held at once while staging"
    )
    cuts: AlertCuts = Field(
        default_factory=AlertCuts,
        description="alert photometry (apparent or difference magnitudes) and quality cuts",
    )

    @field_validator("scheduler")
    @classmethod
    def _known_scheduler(cls, value: str) -> str:
        if value in ("none", "local") or "://" in value or value.count(":") == 1:
            return value
        raise ValueError(
            f"{value!r} is not a scheduler: use none, local, or a Dask scheduler address such "
            "as tcp://host:8786"
        )

    @property
    def policy(self) -> BandPolicy:
        return BandPolicy(self.band_policy, self.unknown_bands, self.sparse_bands)

    def part_settings(self) -> dict[str, Any]:
        """The settings that change the content of the parts (a resume must match them)."""
        return self.model_dump(
            mode="json",
            include={
                "chunk_size",
                "band_policy",
                "unknown_bands",
                "sparse_bands",
                "band_map",
                "cuts",
            },
        )

    @classmethod
    def from_toml(cls, path: str | Path, **overrides: Any) -> ScoreJobConfig:
        """Settings from a TOML file (its ``[score]`` table, or the top level), overridden."""
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        data = data.get("score", data)
        return cls.model_validate({**data, **overrides})


@dataclass(frozen=True)
class PartTask:
    """What scoring one part needs besides the model: where to read and write, and how."""

    part: int
    staging: str
    out: str
    policy: BandPolicy
    batch_size: int
    n_objects: int = 0
    band_map: tuple[tuple[str, str], ...] = ()  # the input band renames, for bands_read


def score_part(
    scorer: Scorer, task: PartTask, *, n_jobs: int | None = None, progress: Progress | None = None
) -> dict[str, int]:
    """Score the objects of one staged bucket and write its part file."""
    photometry, objects = read_bucket(task.staging, task.part)
    table = score_rows(
        scorer,
        photometry,
        objects,
        task.policy,
        n_jobs=n_jobs,
        batch_size=task.batch_size,
        progress=progress,
        band_map=dict(task.band_map),
    )
    write_part(task.out, task.part, table)
    n_rows = table.num_rows
    del photometry, objects, table
    gc.collect()  # pandas frames hold reference cycles: free their buffers now, not later
    release_memory()
    return {"part": task.part, "rows": n_rows}
