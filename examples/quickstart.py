from pathlib import Path

import pandas as pd

import lcvade

scorer = lcvade.load()  # the bundled default model; lcvade.load("path/to/model") for yours

# real labelled curves bundled with the web page (service/static/examples/PROVENANCE.md):
# four ASAS-3 V-band stars of known class and a ZTF type Ia supernova (r band, written R)
EXAMPLES = Path(lcvade.__file__).parents[1] / "service" / "static" / "examples"
# (catalogue class, survey band, what the default model should say)
KNOWN = {
    "asas_rr_lyrae_fm": ("RR_Lyrae_FM", "V", "RRab, ordinary"),
    "asas_classical_cepheid": ("Classical_Cepheid", "V", "DCEP, ordinary"),
    "asas_mira": ("Mira", "V", "LPV, ordinary"),
    "asas_w_ursae_maj": ("W_Ursae_Maj", "V", "EW, ordinary"),
    "ztf_sn_ia": ("SN Ia (a transient)", "R", "an anomaly"),
}
band = (scorer.config.bands or ["mag"])[0]  # the default model reads one band
for name, (label, survey_band, expected) in KNOWN.items():
    rows = pd.read_csv(EXAMPLES / f"{name}.csv")
    rows = rows[rows["band"] == survey_band]
    curve = lcvade.LightCurve(rows.time, rows.mag, rows.mag_err, rows.band.tolist(), id=name)
    # no period given: the scorer searches one; the band map reads the survey band as the
    # model's band, and the result says which band was read
    result = scorer.score([curve], band_map={survey_band: band})[0]
    print(
        f"{name} ({label}): {result.predicted_class}, p {result.p_value:.3f}, "
        f"anomaly {result.is_anomaly}, read {result.bands_read}, period {result.period:.4g} d "
        f"(expected: {expected})"
    )
    print("   why:", result.explanation.summary)

# a known period (days) skips the search
rows = pd.read_csv(EXAMPLES / "asas_rr_lyrae_fm.csv")
star = lcvade.LightCurve(rows.time, rows.mag, rows.mag_err, period=0.4245, id="ASAS 259149")
print(scorer.score([star])[0].period_source)  # "given"

# the decoder's Gaussian-process reconstruction of the folded curve, for plots
rec = scorer.reconstruct(star)
print(rec.phases.shape, rec.mean.shape, rec.std.shape, rec.induction_mean.shape)
