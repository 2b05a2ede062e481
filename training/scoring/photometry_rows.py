"""The long-format photometry rows that batch scoring reads, stages and groups into curves.

Every input -- a light-curve table or a file of alert packets -- is turned into frames with
the same columns, so the rest of batch scoring never looks at where a point came from:

``object_id`` (str), ``time`` (days), ``mag``, ``mag_err`` (float), ``band`` (str or null:
no band), ``mag_kind`` (``apparent``, ``difference`` or null: a table's magnitudes, taken as
they are), ``source_id`` (int or null: the survey's id of the detection, used to merge
repeated alerts of one object without counting a point twice) and ``skip`` (str or null).  A
row whose ``skip`` is set is a point that cannot be used -- a non-detection, a non-finite
magnitude, a non-positive flux, a failed quality cut -- and says why; it is kept until the
object is assembled so an object whose points are all unusable is still reported, with the
count of each reason.

Rows read from alert packets also carry the quality columns of :data:`QUALITY_SCHEMA` (ZTF
``distnr``, ``rb``, ``drb``, ``nbad``, ``magdiff``; Rubin ``reliability`` and the first set
``pixel_flag``).  ``lcvade convert`` writes them; staging for scoring keeps only
:data:`COLUMNS`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

COLUMNS = ("object_id", "time", "mag", "mag_err", "band", "mag_kind", "source_id", "skip")
SCHEMA = pa.schema(
    [
        pa.field("object_id", pa.string(), nullable=False),
        pa.field("time", pa.float64()),
        pa.field("mag", pa.float64()),
        pa.field("mag_err", pa.float64()),
        pa.field("band", pa.string()),
        pa.field("mag_kind", pa.string()),
        pa.field("source_id", pa.int64()),
        pa.field("skip", pa.string()),
    ]
)
QUALITY_SCHEMA = pa.schema(
    [
        pa.field("distnr", pa.float64()),
        pa.field("rb", pa.float64()),
        pa.field("drb", pa.float64()),
        pa.field("nbad", pa.float64()),
        pa.field("magdiff", pa.float64()),
        pa.field("reliability", pa.float64()),
        pa.field("pixel_flag", pa.string()),
    ]
)
QUALITY_COLUMNS = tuple(QUALITY_SCHEMA.names)
APPARENT = "apparent"
DIFFERENCE = "difference"
OBJECT_SCHEMA = pa.schema(
    [pa.field("object_id", pa.string(), nullable=False), pa.field("period", pa.float64())]
)

SKIP_NON_DETECTION = "non-detection"
SKIP_NON_FINITE_MAG = "non-finite magnitude"
SKIP_BAD_MAG_ERR = "missing or non-positive magnitude error"
SKIP_NON_FINITE_FLUX = "non-finite flux"
SKIP_BAD_FLUX_ERR = "missing or non-positive flux error"
SKIP_NON_POSITIVE_FLUX = "non-positive flux"
SKIP_NEGATIVE_DIFFERENCE = "negative difference flux"
SKIP_NON_POSITIVE_APPARENT = "non-positive apparent flux"
SKIP_NO_DIFF_SIGN = "missing isdiffpos"
SKIP_FORCED_AT_DETECTION = "forced measurement of a visit with a detection"


def string_column(values: object) -> np.ndarray:
    """Values as an object array of strings; missing values (None, NaN, pd.NA) become None.

    Integral floats (a band column read as float because of a missing value) are written
    without their ``.0``.
    """
    series = pd.Series(values, copy=False)
    missing = series.isna().to_numpy()
    present = series[~missing]
    if present.dtype == object and pd.api.types.infer_dtype(present, skipna=False) == "string":
        out = series.to_numpy(dtype=object, copy=True)
        out[missing] = None
        return out
    if pd.api.types.is_float_dtype(present.dtype) and np.all(np.mod(present, 1) == 0):
        present = present.astype(np.int64)
    out = np.full(len(series), None, dtype=object)
    out[~missing] = [str(v) for v in present.tolist()]
    return out


def photometry_frame(
    object_id: object,
    time: object,
    mag: object,
    mag_err: object,
    band: object = None,
    source_id: object = None,
    skip: object = None,
    mag_kind: object = None,
    quality: dict[str, object] | None = None,
) -> pd.DataFrame:
    """A frame in the row format of this module from columns (scalars broadcast).

    ``quality`` adds columns of :data:`QUALITY_SCHEMA` (the others are left out).
    """
    n = len(np.asarray(time))
    frame = pd.DataFrame(
        {
            "object_id": string_column(object_id) if np.ndim(object_id) else str(object_id),
            "time": np.asarray(time, dtype=np.float64),
            "mag": np.asarray(mag, dtype=np.float64),
            "mag_err": np.asarray(mag_err, dtype=np.float64),
        }
    )
    frame["band"] = None if band is None else string_column(band)
    frame["mag_kind"] = None if mag_kind is None else pd.Series(mag_kind, dtype=object).to_numpy()
    frame["source_id"] = pd.array([None] * n if source_id is None else source_id, dtype="Int64")
    frame["skip"] = None if skip is None else pd.Series(skip, dtype=object).to_numpy()
    for name, values in (quality or {}).items():
        frame[name] = values
    return frame


def to_arrow(frame: pd.DataFrame, quality: bool = False) -> pa.Table:
    """The frame as an Arrow table with exactly :data:`SCHEMA` (and, with ``quality``, the
    columns of :data:`QUALITY_SCHEMA` after it, null where the frame lacks them)."""
    if not quality:
        return pa.Table.from_pandas(
            frame.loc[:, list(COLUMNS)], schema=SCHEMA, preserve_index=False
        )
    schema = pa.schema([*SCHEMA, *QUALITY_SCHEMA])
    missing = {name: None for name in schema.names if name not in frame.columns}
    full = frame.assign(**missing).loc[:, schema.names]
    return pa.Table.from_pandas(full, schema=schema, preserve_index=False)


def objects_to_arrow(frame: pd.DataFrame) -> pa.Table:
    """An object table (``object_id``, ``period``) as Arrow with :data:`OBJECT_SCHEMA`."""
    return pa.Table.from_pandas(
        frame.loc[:, ["object_id", "period"]], schema=OBJECT_SCHEMA, preserve_index=False
    )
