"""Adversarial generative-inference models: AIM, ALI, ALICE and VEEGAN (sections 4.1, 6.3.3).

All use the hinge loss (section 7.2.2): the discriminator maximises
``E_real[min(0, o - 1)] + E_fake[min(0, -o - 1)]`` and the generator minimises ``-o``.

* AIM matches p(x) with q(x) adversarially with D_x and learns q(z|x) by maximising the
  encoder likelihood E_p(x,z)[log q(z|x)] with the generator fixed (eqs. 4.9 and 6.1): the
  MPCC algorithm with a N(0, I) prior (section 8.2.2).
* ALI matches q(x, z) and p(x, z) with a joint discriminator (eq. 4.1); the generator and
  the encoder are trained together against it.
* ALICE adds both likelihoods: E_q(x,z)[log p(x|z)] and E_p(x,z)[log q(z|x)] (section 4.1).
* VEEGAN adds only the encoder likelihood in Z (section 4.1).

The joint discriminator is D_x, D_z and D_xz of section 6.3.3; the hinge terms of its three
scores are summed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field

from models.base import Draw, GIConfig, GIModel
from models.divergences import gaussian_nll
from models.networks import Encoder, JointDiscriminator, encoder_and_discriminator


def hinge_discriminator(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """-(f(D(x)) + g(D(x~))) with f = min(0, o - 1), g = min(0, -o - 1) (eq. 7.12)."""
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


class AIMConfig(GIConfig):
    """``d_steps``/``e_steps``: discriminator and encoder updates per generator update
    (Algorithm 1); ``share``: share the first three blocks of the encoder and the
    discriminator (Table 8.5); ``hidden_head``: the two-layer heads of Table 8.3."""

    d_steps: int = Field(2, ge=1)
    e_steps: int = Field(1, ge=1)
    share: bool = False
    hidden_head: bool = False


class AIM(GIModel):
    """Adversarial Inference by Matching priors and conditionals (section 6.3.3)."""

    name = "aim"
    config_class = AIMConfig
    config: AIMConfig

    def __init__(self, config: AIMConfig) -> None:
        super().__init__(config)
        self.encoder, self.discriminator = encoder_and_discriminator(
            config.width,
            config.channels,
            config.latent_dim,
            share=config.share,
            hidden_head=config.hidden_head,
        )
        self._optimizers = {
            "discriminator": self.adam(self.discriminator.parameters()),
            "generator": self.adam(self.generator_parameters()),
            "encoder": self.adam(self.encoder.parameters()),
        }

    def generator_parameters(self) -> list[torch.nn.Parameter]:
        return [*self.generator.parameters(), *self.delivery.parameters()]

    def discriminator_step(self, draw: Draw) -> tuple[torch.Tensor, int]:
        """One hinge update of D_x on a real batch and as many generated images."""
        x = draw()
        with torch.no_grad():
            fake, _, _ = self.sample(x.shape[0])
        loss = hinge_discriminator(self.discriminator(x), self.discriminator(fake))
        self.step_optimizer("discriminator", loss)
        return loss.detach(), x.shape[0]

    def generator_step(self, n: int) -> torch.Tensor:
        fake, _, _ = self.sample(n)
        loss = -self.discriminator(fake).mean()
        self.step_optimizer("generator", loss)
        return loss

    def encoder_step(self, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Maximise log q(z|x~) for (z, x~) ~ p(x, z) with p fixed (eq. 7.13 scaled by 1/dim x).

        Returns the loss and the prior draw it used.
        """
        with torch.no_grad():
            fake, z, y = self.sample(n)
        mu, logvar = self.encode(fake)
        loss = gaussian_nll(z, mu, logvar).mean() / self.data_dim
        self.step_optimizer("encoder", loss)
        return loss.detach(), z, y

    def train_step(self, draw: Draw) -> dict[str, float]:
        d_steps = [self.discriminator_step(draw) for _ in range(self.config.d_steps)]
        losses = [loss for loss, _ in d_steps]
        n = d_steps[-1][1]
        loss_g = self.generator_step(n)
        enc = [self.encoder_step(n)[0] for _ in range(self.config.e_steps)]
        return {
            "d": float(torch.stack(losses).mean()),
            "g": loss_g.item(),
            "e": float(torch.stack(enc).mean()),
        }


class JointConfig(GIConfig):
    """``d_steps``: discriminator updates per generator/encoder update; ``lambda_x`` and
    ``lambda_z`` weight the per-dimension reconstruction terms of ALICE and VEEGAN."""

    d_steps: int = Field(2, ge=1)
    lambda_x: float = Field(1.0, ge=0)
    lambda_z: float = Field(1.0, ge=0)


class ALI(GIModel):
    """Adversarially Learned Inference: match q(x, z) and p(x, z) (eq. 4.1)."""

    name = "ali"
    config_class = JointConfig
    config: JointConfig
    uses_x_likelihood = False
    uses_z_likelihood = False

    def __init__(self, config: JointConfig) -> None:
        super().__init__(config)
        self.encoder = Encoder(config.width, config.channels, config.latent_dim)
        self.discriminator = JointDiscriminator(config.width, config.channels, config.latent_dim)
        self._optimizers = {
            "discriminator": self.adam(self.discriminator.parameters()),
            "generator": self.adam(
                [
                    *self.generator.parameters(),
                    *self.delivery.parameters(),
                    *self.encoder.parameters(),
                ]
            ),
        }

    def _pairs(self, x: torch.Tensor):
        mu, logvar = self.encode(x)
        z_q = self.reparameterize(mu, logvar)
        fake, z_p, _ = self.sample(x.shape[0])
        return z_q, fake, z_p

    def train_step(self, draw: Draw) -> dict[str, float]:
        d_losses = []
        for _ in range(self.config.d_steps):
            x = draw()
            with torch.no_grad():
                z_q, fake, z_p = self._pairs(x)
            real_scores = self.discriminator(x, z_q)
            fake_scores = self.discriminator(fake, z_p)
            loss_d = sum(
                hinge_discriminator(r, f) for r, f in zip(real_scores, fake_scores, strict=True)
            )
            self.step_optimizer("discriminator", loss_d)
            d_losses.append(loss_d.item())
        x = draw()
        z_q, fake, z_p = self._pairs(x)
        real_scores = self.discriminator(x, z_q)
        fake_scores = self.discriminator(fake, z_p)
        adv = sum(r.mean() - f.mean() for r, f in zip(real_scores, fake_scores, strict=True))
        loss = adv
        out = {"d": sum(d_losses) / len(d_losses), "adv": adv.item()}
        if self.uses_x_likelihood:
            rec_x = (self.decode(z_q) - x).pow(2).mean()
            loss = loss + self.config.lambda_x * rec_x
            out["rec_x"] = rec_x.item()
        if self.uses_z_likelihood:
            mu, logvar = self.encode(fake)
            rec_z = gaussian_nll(z_p, mu, logvar).mean() / self.config.latent_dim
            loss = loss + self.config.lambda_z * rec_z
            out["rec_z"] = rec_z.item()
        self.step_optimizer("generator", loss)
        return out


class ALICE(ALI):
    """ALI plus the likelihoods in X and in Z (conditional entropy terms, section 4.1)."""

    name = "alice"
    uses_x_likelihood = True
    uses_z_likelihood = True


class VEEGAN(ALI):
    """ALI plus the encoder likelihood in Z only (section 4.1, Table 5.1)."""

    name = "veegan"
    uses_z_likelihood = True
