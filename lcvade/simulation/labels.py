"""The class labels of simulated light curves, in one place.

Every simulated object carries one of these short labels (column ``label`` of the object
table).  Pulsating classes are driven by rows of the OGLE-III catalog of variable stars; the
eclipsing classes by a geometric model (:mod:`lcvade.simulation.eclipsing`).

``OGLE_SUBTYPES`` says which OGLE-III ``(Type, Subtype)`` pairs feed each pulsating label.
"""

from __future__ import annotations

from typing import Final

RRAB: Final = "RRab"
RRC: Final = "RRc"
DCEP_F: Final = "DCEP_F"
DCEP_1O: Final = "DCEP_1O"
T2CEP: Final = "T2CEP"
ACEP: Final = "ACEP"
DSCT: Final = "DSCT"
LPV: Final = "LPV"
EA: Final = "EA"
EW: Final = "EW"

#: All labels, in a fixed order (also the order of class codes in the generator).
LABELS: Final[tuple[str, ...]] = (RRAB, RRC, DCEP_F, DCEP_1O, T2CEP, ACEP, DSCT, LPV, EA, EW)

#: Labels whose light-curve shape comes from Fourier parameters of catalog rows.
FOURIER_LABELS: Final[tuple[str, ...]] = (RRAB, RRC, DCEP_F, DCEP_1O, T2CEP, ACEP, DSCT)
#: Labels drawn from catalog rows (Fourier pulsators and long-period variables).
CATALOG_LABELS: Final[tuple[str, ...]] = (*FOURIER_LABELS, LPV)
#: Labels produced by the eclipsing-binary model.
ECLIPSING_LABELS: Final[tuple[str, ...]] = (EA, EW)

DESCRIPTIONS: Final[dict[str, str]] = {
    RRAB: "RR Lyrae, fundamental mode",
    RRC: "RR Lyrae, first overtone",
    DCEP_F: "classical (delta) Cepheid, fundamental mode",
    DCEP_1O: "classical (delta) Cepheid, first overtone",
    T2CEP: "type-II Cepheid (BL Her, W Vir, peculiar W Vir, RV Tau)",
    ACEP: "anomalous Cepheid (fundamental mode and first overtone)",
    DSCT: "delta Scuti star (single-mode)",
    LPV: "long-period variable (Mira, semi-regular, OGLE small-amplitude red giant)",
    EA: "detached eclipsing binary (Beta Persei / Algol type)",
    EW: "contact eclipsing binary (W Ursae Majoris type)",
}

#: OGLE-III (Type, Subtype) pairs behind each catalog-driven label.
OGLE_SUBTYPES: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    RRAB: (("RRLyr", "RRab"),),
    RRC: (("RRLyr", "RRc"),),
    DCEP_F: (("Cep", "F"),),
    DCEP_1O: (("Cep", "1"),),
    T2CEP: (("T2Cep", "BLHer"), ("T2Cep", "WVir"), ("T2Cep", "pWVir"), ("T2Cep", "RVTau")),
    ACEP: (("aCep", "F"), ("aCep", "1")),
    DSCT: (("DSCT", "S"),),
    LPV: (("LPV", "Mira"), ("LPV", "SRV"), ("LPV", "OSARG")),
}


def parse_classes(classes: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Normalise a class selection to a tuple of known labels (None or "all": every label).

    Accepts a comma-separated string or a sequence; matching is case-insensitive and the
    result keeps the order of :data:`LABELS` without duplicates.
    """
    if classes is None:
        return LABELS
    if isinstance(classes, str):
        items = [c.strip() for c in classes.split(",") if c.strip()]
    else:
        items = [str(c).strip() for c in classes if str(c).strip()]
    if not items or [c.lower() for c in items] == ["all"]:
        return LABELS
    lookup = {label.lower(): label for label in LABELS}
    unknown = [c for c in items if c.lower() not in lookup]
    if unknown:
        raise ValueError(f"unknown class(es) {unknown}; choose from {', '.join(LABELS)} (or 'all')")
    chosen = {lookup[c.lower()] for c in items}
    return tuple(label for label in LABELS if label in chosen)
