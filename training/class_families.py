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
        "EA", "EW", "ELL", "beta_lyrae", "beta_Lyrae", "PCEB", "Beta_Persei", "W_Ursae_Maj",
        "Beta_Lyrae", "Ellipsoidal",
    ),
    "Cepheids": (
        "Cep_II", "ACEP", "DCEP", "Classical_Cepheid", "PopII_Cepheid", "MultiMode_Cepheid",
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


# One class name for each physical class, whichever catalogue labelled the star: Catalina
# (Drake et al. 2014, 2017) names on the left of each group, ASAS (Richards et al. 2012)
# names after them.  Labels absent here (for example ASAS RCB, T Tauri or Be stars) have no
# common class.  Blazhko RRab stay RRab; every long-period kind (Mira, semiregular, small-
# amplitude red giants, long secondary periods, red supergiants) is one class LPV, since the
# catalogues draw the lines between them differently.
COMMON_CLASS: dict[str, str] = {
    "RRab": "RRab", "Blazhko": "RRab", "RR_Lyrae_FM": "RRab",
    "RRc": "RRc", "RR_Lyrae_FO": "RRc",
    "RRd": "RRd", "RR_Lyrae_DM": "RRd",
    "EA": "EA", "Beta_Persei": "EA",
    "EW": "EW", "W_Ursae_Maj": "EW",
    "beta_lyrae": "beta_Lyrae", "Beta_Lyrae": "beta_Lyrae",
    "ELL": "ELL", "Ellipsoidal": "ELL",
    "PCEB": "PCEB",
    "RS_CVn": "RS_CVn",
    "HADS": "DSCT", "LADS": "DSCT", "Delta_Scuti": "DSCT", "SX_Phe": "DSCT",
    "Cep_II": "T2CEP", "PopII_Cepheid": "T2CEP",
    "ACEP": "ACEP",
    "Classical_Cepheid": "DCEP", "MultiMode_Cepheid": "DCEP",
    "LPV": "LPV", "Mira": "LPV", "Semireg_PV": "LPV", "SARG_A": "LPV", "SARG_B": "LPV",
    "LSP": "LPV", "RSG": "LPV",
}  # fmt: skip


def common_class(label: str) -> str | None:
    """The class shared by every catalogue for ``label`` (``None`` when it has none)."""
    return COMMON_CLASS.get(str(label))
