"""The hyper-parameters of one LC-VaDE model, saved in every checkpoint.

Defaults are the thesis' (section 9.5.2, Tables 9.1-9.2): C = 72 (blocks of width 4C),
J = 10 + 2 (z_rep + z_kernel), bottom width BW = 3 and three up-sampling blocks, giving
I = 3 * 2^3 = 24 induction points per band, 64 reference points in the interpolation-prediction
encoder, four down-sampling blocks, and at most 200 points per curve.

Three defaults depart from the thesis, each measured on real light curves
(``benchmarks/quality_ablation.py``, docs/quality.md): the encoder has no spectral
normalisation (with it, every layer is 1-Lipschitz and the codes of all curves stay within a
few hundredths of each other, so the learned representation cannot separate anything), the
loss adds the label cross-entropy of the latent classifier q(y|z) (``latent_label_weight``),
and the features f do not include the apparent magnitude (``feature_set='shape'``).  Models
saved before these options existed load with the thesis' values.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# The feature sets f a model can read (lcvade.features computes them).
FeatureSet = Literal["thesis", "shape", "shape_fold"]


class LCVaDEConfig(BaseModel):
    """Architecture and preprocessing settings of an LC-VaDE model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_classes: int = Field(ge=1, description="K, the number of mixture components (classes)")
    bands: list[str] | None = Field(
        default=None,
        description="band names, in channel order; None = one band, whatever it is called",
    )
    channels: int = Field(default=72, ge=1, description="C; residual blocks are 4C wide")
    z_rep: int = Field(default=10, ge=1, description="dimensions of z_rep (decoder input)")
    z_kernel: int = Field(default=2, ge=1, description="dimensions of z_kernel (kernel head)")
    bottom_width: int = Field(default=3, ge=1, description="BW, decoder bottom width")
    n_up_blocks: int = Field(default=3, ge=1, description="decoder residual up blocks")
    n_reference: int = Field(default=64, ge=4, description="interpolation reference points")
    n_down_blocks: int = Field(default=4, ge=1, description="encoder residual down blocks")
    pool_kernel: int = Field(default=3, ge=2, description="encoder average-pooling kernel")
    max_points: int = Field(default=200, ge=10, description="points kept per curve")
    min_points: int = Field(default=10, ge=3, description="points required per band")
    anchor_phase: float | None = Field(
        default=0.25,
        description="phase at which the curve's maximum light is placed after folding "
        "(None: plain eq. 9.1 with t0 = 0)",
    )
    anchor_harmonics: int = Field(default=3, ge=1, description="harmonics of the anchor fit")
    feature_set: FeatureSet = Field(
        default="shape",
        description="the features f: 'shape' = (log10 amplitude_b, skewness_b, log10 p), "
        "which do not depend on the survey's depth or the star's distance; 'shape_fold' = "
        "'shape' plus the fold's significance, which says whether the fold is a period at all "
        "(lcvade.features); 'thesis' = "
        "(m_b, s_b, log10 p) as in section 9.2, whose mean magnitude m describes the survey",
    )
    encoder_spectral_norm: bool = Field(
        default=False,
        description="spectral normalisation in the encoder's blocks and heads, as in the "
        "thesis (every layer 1-Lipschitz); False: plain layers with PyTorch's initialisation",
    )
    supervision: Literal["thesis", "labelled_bound"] = Field(
        default="thesis",
        description="how labels enter training: 'thesis' = -ELBO (classes weighted by "
        "q(y|z,f)) + label cross-entropy (eq. 9.8); 'labelled_bound' = the bound with the "
        "label observed (each code pulled to its class's p(z|y)) + label cross-entropy",
    )
    latent_label_weight: float = Field(
        default=1.0,
        ge=0.0,
        description="weight of the label cross-entropy of the latent part's own classifier "
        "q(y|z) in the loss (0: eq. 9.8 as printed)",
    )
    class_weights: list[float] | None = Field(
        default=None,
        description="p(y) of the classifier q(y|z,f), one weight per class, normalised to sum "
        "to 1 (None: uniform 1/K, as the thesis; training batches are class balanced either "
        "way). Training frequencies correct the classifier for classes of very unequal size",
    )
    ias_with_features: bool = Field(
        default=True,
        description="score the joint code (z, f): add E_q(y|z,f)[log p(f|y)] to the IAS of "
        "eq. 9.12 (False: eq. 9.12 exactly, where f only weighs the classes)",
    )
    variance_floor: float = Field(
        default=1e-4, gt=0, description="floor of the GP predictive variance (normalised units)"
    )
    induction_std_floor: float = Field(
        default=1e-2, gt=0, description="floor of the induction-point standard deviations"
    )
    prior_std_floor: float = Field(
        default=1e-2, gt=0, description="floor of the standard deviations of p(z|y), p(f|y)"
    )
    scale_floor: float = Field(
        default=1e-3, gt=0, description="floor of a curve's magnitude standard deviation"
    )

    @field_validator("bands")
    @classmethod
    def _distinct_bands(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and (len(v) == 0 or len(set(v)) != len(v) or any(not b for b in v)):
            raise ValueError("bands must be a non-empty list of distinct, non-empty names")
        return v

    @field_validator("class_weights")
    @classmethod
    def _normalised_weights(cls, v: list[float] | None) -> list[float] | None:
        if v is None:
            return v
        if not v or not all(math.isfinite(w) and w > 0 for w in v):
            raise ValueError("class_weights must be positive, finite numbers")
        total = math.fsum(v)
        return [w / total for w in v]

    @model_validator(mode="after")
    def _check_shapes(self) -> LCVaDEConfig:
        if self.class_weights is not None and len(self.class_weights) != self.n_classes:
            raise ValueError(
                f"class_weights has {len(self.class_weights)} entries for {self.n_classes} classes"
            )
        if self.n_reference % (2**self.n_down_blocks) != 0:
            raise ValueError("n_reference must be divisible by 2**n_down_blocks")
        if self.anchor_phase is not None and not 0.0 <= self.anchor_phase < 1.0:
            raise ValueError("anchor_phase must lie in [0, 1)")
        return self

    @property
    def n_bands(self) -> int:
        """B, the number of photometric bands."""
        return 1 if self.bands is None else len(self.bands)

    @property
    def input_channels(self) -> int:
        """D = 2B: a magnitude and an error channel per band."""
        return 2 * self.n_bands

    @property
    def latent_dim(self) -> int:
        """J = dim(z_rep) + dim(z_kernel)."""
        return self.z_rep + self.z_kernel

    @property
    def n_induction(self) -> int:
        """I = BW * 2^(up blocks) induction points per band (Table 9.1)."""
        return self.bottom_width * 2**self.n_up_blocks

    @property
    def feature_dim(self) -> int:
        """Dimension of f: two numbers per band, the fold's significance for ``shape_fold``,
        and log10 p."""
        return 2 * self.n_bands + 1 + (self.feature_set == "shape_fold")

    @property
    def width(self) -> int:
        """4C, the width of every residual block."""
        return 4 * self.channels
