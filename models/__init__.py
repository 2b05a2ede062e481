"""The shared residual backbone and the image generative-inference family (thesis ch. 6-8)."""
