"""The Information Anomaly Score (thesis section 9.4.3, eq. 9.12).

    IAS(x) = E_{q(z,y|x,f)}[log p(z|y)] + h_q(z|x)
           = sum_k q(y=k|z,f) E_{q(z|x)}[log p(z|y=k)] + h_q(z|x),

a lower bound of the mutual information I_q(z, y|x, f).  Every term is closed form (the
expectation with ``MixturePrior.expected_log_pz``, the entropy with ``gaussian_entropy``).
Higher means more typical of the training classes; the anomaly score is -IAS.

Features f = (m, s, log10 p) enter eq. 9.12 only through the weights q(y|z,f).  An object
whose oddity lies in f alone -- a pulsator of ordinary shape at a period no training class
has -- then looks typical.  The same bound written for the joint code (z, f) of the
graphical model p(z|y) p(f|y), with q(f) a point mass as in the loss (section 9.4.2; its
constant entropy dropped), adds the feature term:

    IAS_f(x) = sum_k q(y=k|z,f) (E_{q(z|x)}[log p(z|y=k)] + log p(f|y=k)) + h_q(z|x).

Models score with IAS_f by default (``LCVaDEConfig.ias_with_features``); set it to False for
eq. 9.12 exactly.
"""

from __future__ import annotations

import torch


def information_anomaly_score(
    q_y: torch.Tensor,
    expected_log_pz: torch.Tensor,
    entropy_z: torch.Tensor,
    log_pf: torch.Tensor | None = None,
) -> torch.Tensor:
    """IAS per curve from q(y|z,f) (N, K), E_q(z|x)[log p(z|y=k)] (N, K) and h_q(z|x) (N,).

    With ``log_pf`` = log p(f|y=k) (N, K) it is IAS_f, the bound for the joint code (z, f).
    """
    per_class = expected_log_pz if log_pf is None else expected_log_pz + log_pf
    return (q_y * per_class).sum(dim=-1) + entropy_z
