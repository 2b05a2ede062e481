"""lcvade: anomaly detection for astronomical light curves with LC-VaDE.

Quick start::

    import lcvade
    scorer = lcvade.load()                      # the bundled default model
    curve = lcvade.LightCurve(time, mag, mag_err, period=0.61)
    result = scorer.score([curve])[0]
    result.ias, result.p_value, result.predicted_class
"""

from lcvade.calibration import AnomalyRule, IASCalibration, benjamini_hochberg
from lcvade.checkpoint import CheckpointError, load_model, read_manifest, save_model
from lcvade.config import LCVaDEConfig
from lcvade.lightcurve import LightCurve, LightCurveError, check_foldable
from lcvade.model import LCVaDE
from lcvade.period import FrequencyGrid, PeriodResult, PeriodSearch, find_period, find_periods
from lcvade.period_resolution import ResolvedPeriods, resolve_periods
from lcvade.score_record import Explanation, ScoreResult
from lcvade.scorer import Reconstruction, Scorer, bundled_models, load
from models.errors import LCVaDEError
from models.version import __version__

__all__ = [
    "AnomalyRule",
    "CheckpointError",
    "Explanation",
    "FrequencyGrid",
    "IASCalibration",
    "LCVaDE",
    "LCVaDEConfig",
    "LCVaDEError",
    "LightCurve",
    "LightCurveError",
    "PeriodResult",
    "PeriodSearch",
    "Reconstruction",
    "ResolvedPeriods",
    "ScoreResult",
    "Scorer",
    "__version__",
    "benjamini_hochberg",
    "bundled_models",
    "check_foldable",
    "find_period",
    "find_periods",
    "load",
    "load_model",
    "read_manifest",
    "resolve_periods",
    "save_model",
]
