"""The bundled OGLE-III extract: real pulsation parameters to draw simulated stars from.

Each catalog-driven simulated star is built from one row of the extract, drawn uniformly at
random among the rows of its label, so the joint distribution of period, amplitude and
light-curve shape within a class is the catalog's own.  Columns (see ``PROVENANCE.md`` next to
the file and :mod:`lcvade.simulation.make_catalog_extract`):

``id, label, type, subtype, field`` (BLG/LMC/SMC), ``I`` (mean I magnitude), ``V_I`` (V - I,
Magellanic Clouds only), ``P_1`` (days), ``A_1`` (peak-to-peak I-band amplitude, mag),
``R21, phi21, R31, phi31`` (Fourier parameters of the I-band light curve, cosine series,
``R_k1 = A_k / A_1``, ``phi_k1 = phi_k - k phi_1``), ``P_2, A_2`` (second period of
long-period variables, NaN when absent).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from lcvade.simulation.labels import CATALOG_LABELS

EXTRACT_PATH = Path(__file__).resolve().parents[1] / "data" / "ogle3" / "ogle3_extract.parquet"
NUMERIC = ("I", "V_I", "P_1", "A_1", "R21", "phi21", "R31", "phi31", "P_2", "A_2")


@dataclass(frozen=True)
class CatalogRows:
    """Column arrays of some extract rows (one element per simulated star)."""

    id: np.ndarray
    subtype: np.ndarray
    values: dict[str, np.ndarray]

    def __getitem__(self, column: str) -> np.ndarray:
        return self.values[column]

    def __len__(self) -> int:
        return int(self.id.size)


class Catalog:
    """The extract, grouped by label for fast random draws."""

    def __init__(self, frame: pd.DataFrame) -> None:
        missing = [c for c in ("id", "label", "subtype", *NUMERIC) if c not in frame.columns]
        if missing:
            raise ValueError(f"the catalog extract lacks columns {missing}")
        self.frame = frame.reset_index(drop=True)
        self._ids = frame["id"].to_numpy(dtype=object)
        self._subtypes = frame["subtype"].to_numpy(dtype=object)
        self._values = {c: frame[c].to_numpy(dtype=np.float64) for c in NUMERIC}
        labels = frame["label"].to_numpy(dtype=object)
        self._rows = {label: np.flatnonzero(labels == label) for label in CATALOG_LABELS}
        empty = [label for label, rows in self._rows.items() if rows.size == 0]
        if empty:
            raise ValueError(f"the catalog extract has no rows for {empty}")
        self._default_colour = {
            label: float(np.nanmedian(self._values["V_I"][rows]))
            for label, rows in self._rows.items()
        }

    def __len__(self) -> int:
        return len(self.frame)

    def count(self, label: str) -> int:
        """Number of extract rows behind ``label``."""
        return int(self._rows[label].size)

    def default_colour(self, label: str) -> float:
        """Median V - I of the label's Magellanic Cloud rows (used where V_I is missing)."""
        return self._default_colour[label]

    def take(self, index: np.ndarray) -> CatalogRows:
        """The rows at positions ``index`` of the extract."""
        return CatalogRows(
            id=self._ids[index],
            subtype=self._subtypes[index],
            values={c: v[index] for c, v in self._values.items()},
        )

    def draw(self, label: str, n: int, rng: np.random.Generator) -> CatalogRows:
        """``n`` rows of ``label`` drawn uniformly at random, with replacement."""
        if label not in self._rows:
            raise KeyError(f"{label!r} is not a catalog-driven label ({', '.join(CATALOG_LABELS)})")
        rows = self._rows[label]
        return self.take(rows[rng.integers(0, rows.size, size=n)])

    def lookup(self, ids: np.ndarray | list[str]) -> pd.DataFrame:
        """The extract rows with the given OGLE ids, in the order given."""
        indexed = self.frame.set_index("id")
        return indexed.loc[list(ids)].reset_index()


@lru_cache(maxsize=4)
def load_catalog(path: str | None = None) -> Catalog:
    """Load (once) the bundled extract, or another file with the same columns."""
    source = EXTRACT_PATH if path is None else Path(path)
    if not source.is_file():
        raise FileNotFoundError(
            f"the OGLE-III extract {source} is missing; rebuild it with "
            "python -m lcvade.simulation.make_catalog_extract"
        )
    return Catalog(pd.read_parquet(source))
