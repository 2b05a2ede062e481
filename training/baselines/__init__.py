"""Outlier detectors measured beside LC-VaDE, on the same split, in the same run.

* :mod:`training.baselines.lcvade_methods`: LC-VaDE itself and the combined score of
  section 9.5.4;
* :mod:`training.baselines.unimodal`: the "VAE baseline (S)" of Table 9.4, LC-VaDE's networks
  with one N(0, I)-started prior component and a supervised latent space;
* :mod:`training.baselines.dagmm`: the energy-based DAGMM of Zong et al. (2018) with the
  LC-VaDE encoder and decoder ("Energy GMM (S)" of Table 9.4);
* :mod:`training.baselines.feature_forest`: an Isolation Forest on ``light-curve`` package
  features, the approach of the Fink and SNAD anomaly modules;
* :mod:`training.baselines.feature_density`: per-class Gaussian mixtures on the same
  features, scored by the best class log-density (the supervised feature-density peer).

Every method follows :mod:`training.baselines.protocol`: fit on the training inliers, return
one anomaly score per test curve (higher = more anomalous).
"""
