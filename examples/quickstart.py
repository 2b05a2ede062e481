import lcvade
from lcvade.simulation import simulate, to_lightcurves

scorer = lcvade.load()  # the bundled default model; lcvade.load("path/to/model") for yours

# ten simulated OGLE-like I-band curves with their true periods (or build your own:
# lcvade.LightCurve(time=t, mag=mag, mag_err=err, period=0.5567, id="RR Lyr 1"))
lightcurves, objects = simulate(10, seed=1)
curves = to_lightcurves(lightcurves, objects)
for result in scorer.score(curves):
    print(result.id, result.predicted_class, f"IAS {result.ias:.1f}", f"p {result.p_value:.3f}")

# without a period the scorer runs a Lomb-Scargle search and reports its confidence
bare = lcvade.LightCurve(curves[0].time, curves[0].mag, curves[0].mag_err)
result = scorer.score([bare])[0]
print(result.period, result.period_source, result.period_confidence, result.is_anomaly)

# the decoder's Gaussian-process reconstruction of the folded curve, for plots
rec = scorer.reconstruct(curves[0])
print(rec.phases.shape, rec.mean.shape, rec.std.shape, rec.induction_mean.shape)
