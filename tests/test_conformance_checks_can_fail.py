"""The conformance checks themselves must catch broken components."""
import pytest
import torch
from torch import nn

from inpaintzoo.interfaces import ComponentConfig, Encoder, MaskGenerator
from inpaintzoo.registry import Entry
from inpaintzoo.testing import check_entry


class _Cfg(ComponentConfig):
    pass


class ForgetfulEncoder(Encoder):
    """Keeps part of its state in a non-persistent buffer, so save→load changes its output."""

    Config = _Cfg

    def __init__(self, cfg):
        super().__init__(cfg)
        self.conv = nn.Conv2d(4, 4, 1)
        self.register_buffer("offset", torch.randn(1), persistent=False)

    def forward(self, x, mask):
        return [self.conv(torch.cat([x, mask], 1)) + self.offset]

    def example_inputs(self, batch_size=2):
        return torch.randn(batch_size, 3, 4, 4), torch.zeros(batch_size, 1, 4, 4)


class NoisyMasks(MaskGenerator):
    Config = _Cfg

    def __call__(self, n, h, w, generator):
        return (torch.rand(n, 1, h, w) > 0.5).float()  # ignores the generator


def test_state_outside_the_weights_is_caught():
    with pytest.raises(AssertionError, match="outputs differ after save→load"):
        check_entry(Entry("bad.encoder", "encoder", ForgetfulEncoder, _Cfg, "bad"))


def test_nondeterministic_masks_are_caught():
    with pytest.raises(AssertionError, match="not deterministic"):
        check_entry(Entry("bad.masks", "masks", NoisyMasks, _Cfg, "bad"))
