"""The Information Anomaly Score (thesis section 9.4.3, eq. 9.12).

    IAS(x) = E_{q(z,y|x,f)}[log p(z|y)] + h_q(z|x)
           = sum_k q(y=k|z,f) E_{q(z|x)}[log p(z|y=k)] + h_q(z|x),

a lower bound of the mutual information I_q(z, y|x, f).  Every term is closed form (the
expectation with ``MixturePrior.expected_log_pz``, the entropy with ``gaussian_entropy``).
Higher means more typical of the training classes; the anomaly score is -IAS.
"""

from __future__ import annotations

import torch


def information_anomaly_score(
    q_y: torch.Tensor, expected_log_pz: torch.Tensor, entropy_z: torch.Tensor
) -> torch.Tensor:
    """IAS per curve from q(y|z,f) (N, K), E_q(z|x)[log p(z|y=k)] (N, K) and h_q(z|x) (N,)."""
    return (q_y * expected_log_pz).sum(dim=-1) + entropy_z
