"""NVAE's distributions: the soft-clamped Normal and the discretized mixture of logistics."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def soft_clamp5(x: Tensor) -> Tensor:
    return 5.0 * torch.tanh(x / 5.0)


class Normal:
    """N(μ, σ) with μ, log σ soft-clamped to ±5 and σ = exp(log σ) + 0.01, as in NVAE.

    The top group's prior is Normal(0, 0), so its σ is 1.01, not 1: kept for fidelity.
    """

    def __init__(self, mu: Tensor, log_sigma: Tensor):
        self.mu = soft_clamp5(mu)
        self.sigma = torch.exp(soft_clamp5(log_sigma)) + 1e-2

    def sample(self) -> Tensor:
        return self.mu + self.sigma * torch.randn_like(self.mu)

    def kl(self, p: "Normal") -> Tensor:
        """Elementwise KL(self ‖ p) in closed form."""
        term1 = (self.mu - p.mu) / p.sigma
        term2 = self.sigma / p.sigma
        return 0.5 * (term1 * term1 + term2 * term2) - 0.5 - torch.log(term2)


class DiscMixLogistic:
    """NVAE's discretised mixture of logistics for RGB in [-1, 1] with autoregressive channel coupling.

    Parameter layout (as NVAE): M mixture logits, then per channel M means, M log-scales (≥ −7) and M
    tanh coefficients (r→g, r→b, g→b).
    """

    def __init__(self, param: Tensor, num_mix: int, num_bits: int = 8):
        b, _, h, w = param.shape
        self.num_mix = num_mix
        self.logit_probs = param[:, :num_mix]
        l = param[:, num_mix:].view(b, 3, 3 * num_mix, h, w)
        self.means = l[:, :, :num_mix]
        self.log_scales = torch.clamp(l[:, :, num_mix : 2 * num_mix], min=-7.0)
        self.coeffs = torch.tanh(l[:, :, 2 * num_mix : 3 * num_mix])
        self.max_val = 2.0**num_bits - 1

    def log_prob(self, x: Tensor) -> Tensor:
        """log p(x) per pixel (B×H×W) for x in [-1, 1]."""
        x = x.unsqueeze(2)  # B, 3, 1, H, W
        m = self.means
        mean1 = m[:, 0:1]
        mean2 = m[:, 1:2] + self.coeffs[:, 0:1] * x[:, 0:1]
        mean3 = m[:, 2:3] + self.coeffs[:, 1:2] * x[:, 0:1] + self.coeffs[:, 2:3] * x[:, 1:2]
        means = torch.cat([mean1, mean2, mean3], dim=1)
        centered = x - means
        inv_stdv = torch.exp(-self.log_scales)
        plus_in = inv_stdv * (centered + 1.0 / self.max_val)
        min_in = inv_stdv * (centered - 1.0 / self.max_val)
        cdf_delta = torch.sigmoid(plus_in) - torch.sigmoid(min_in)
        log_cdf_plus = plus_in - F.softplus(plus_in)
        log_one_minus_cdf_min = -F.softplus(min_in)
        mid_in = inv_stdv * centered
        log_pdf_mid = mid_in - self.log_scales - 2.0 * F.softplus(mid_in)
        log_prob_mid = torch.where(cdf_delta > 1e-5, torch.log(torch.clamp(cdf_delta, min=1e-10)),
                                   log_pdf_mid - math.log(self.max_val / 2))
        log_probs = torch.where(x < -0.999, log_cdf_plus, torch.where(x > 0.99, log_one_minus_cdf_min, log_prob_mid))
        log_probs = log_probs.sum(1) + F.log_softmax(self.logit_probs, dim=1)
        return torch.logsumexp(log_probs, dim=1)

    def mean(self) -> Tensor:
        """The mixture's mean image: each component's location under the channel coupling, clipped to
        [−1, 1] as the discretisation assigns the mass beyond the edges to the edges, then mixed by π.

        Clipping per component matters: the likelihood lets a component that models saturated pixels put
        its location far outside [−1, 1], which would otherwise drag the mixed mean."""
        pi = F.softmax(self.logit_probs, dim=1)
        m, c = self.means, self.coeffs
        r = m[:, 0].clamp(-1, 1)
        g = (m[:, 1] + c[:, 0] * r).clamp(-1, 1)
        b = (m[:, 2] + c[:, 1] * r + c[:, 2] * g).clamp(-1, 1)
        return torch.stack([(pi * r).sum(1), (pi * g).sum(1), (pi * b).sum(1)], dim=1)

    def sample(self, t: float = 1.0) -> Tensor:
        gumbel = -torch.log(-torch.log(torch.rand_like(self.logit_probs).clamp(1e-5, 1 - 1e-5)))
        sel = F.one_hot(torch.argmax(self.logit_probs / t + gumbel, dim=1), self.num_mix).permute(0, 3, 1, 2).unsqueeze(1)
        means = (self.means * sel).sum(2)
        log_scales = (self.log_scales * sel).sum(2)
        coeffs = (self.coeffs * sel).sum(2)
        u = torch.rand_like(means).clamp(1e-5, 1 - 1e-5)
        x = means + torch.exp(log_scales) * t * (torch.log(u) - torch.log(1 - u))
        x0 = x[:, 0].clamp(-1, 1)
        x1 = (x[:, 1] + coeffs[:, 0] * x0).clamp(-1, 1)
        x2 = (x[:, 2] + coeffs[:, 1] * x0 + coeffs[:, 2] * x1).clamp(-1, 1)
        return torch.stack([x0, x1, x2], dim=1)
