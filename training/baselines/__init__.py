"""Outlier detectors measured beside LC-VaDE, on the same split, in the same run.

* :mod:`training.baselines.lcvade_methods`: LC-VaDE itself, its unimodal version (K = 1,
  the "VAE baseline" of Table 9.4) and the combined score of section 9.5.4;
* :mod:`training.baselines.dagmm`: the energy-based DAGMM of Zong et al. (2018) with the
  LC-VaDE encoder and decoder ("Energy GMM (S)" of Table 9.4);
* :mod:`training.baselines.feature_forest`: an Isolation Forest on ``light-curve`` package
  features, the approach of the Fink and SNAD anomaly modules.

Every method follows :mod:`training.baselines.protocol`: fit on the training inliers, return
one anomaly score per test curve (higher = more anomalous).
"""
