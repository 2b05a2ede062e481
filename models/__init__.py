"""The shared residual backbone and the image generative-inference family (thesis ch. 6-8),
and the file plumbing every layer above uses (atomic writes, versioned manifests).

This is the lowest layer of the project: it imports nothing from ``lcvade``, ``training``
or ``service``.
"""
