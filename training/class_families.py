"""Families of variable-star classes, one table for every survey's labels.

Catalogues name their classes differently (CRTS ``EW``, ASAS ``W_Ursae_Maj``, OGLE-like
simulations ``EW``) and some classes are look-alikes that even their catalogues split by
hand (CRTS EW / ELL / beta_lyrae).  A family groups the labels a classifier may fairly
confuse, so that accuracy can be reported both per class and per family.
"""

from __future__ import annotations

FAMILIES: dict[str, tuple[str, ...]] = {
    "RR Lyrae": (
        "RRab", "RRc", "RRd", "Blazhko", "RR_Lyrae_FM", "RR_Lyrae_FO", "RR_Lyrae_DM",
    ),
    "eclipsing and ellipsoidal": (
        "EA", "EW", "ELL", "beta_lyrae", "PCEB", "Beta_Persei", "W_Ursae_Maj", "Beta_Lyrae",
        "Ellipsoidal",
    ),
    "Cepheids": (
        "Cep_II", "ACEP", "Classical_Cepheid", "PopII_Cepheid", "MultiMode_Cepheid",
        "DCEP_F", "DCEP_1O", "T2CEP", "RV_Tauri",
    ),
    "delta Scuti": ("HADS", "LADS", "Delta_Scuti", "SX_Phe", "DSCT"),
    "long-period": ("LPV", "Mira", "Semireg_PV", "SARG_A", "SARG_B", "LSP", "RSG"),
    "spotted (RS CVn)": ("RS_CVn",),
}  # fmt: skip

_FAMILY_OF = {label: family for family, labels in FAMILIES.items() for label in labels}
OTHER = "other"


def family_of(label: str) -> str:
    """The family of a class label (``"other"`` for a label in no family)."""
    return _FAMILY_OF.get(str(label), OTHER)
