"""Offline jobs: data loading, the outlier-class protocol, training, evaluation, batch scoring."""
