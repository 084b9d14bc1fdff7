"""The VQ-f4 autoencoder of latent diffusion (`ldm/modules/diffusionmodules/model.py` and taming-transformers'
`VectorQuantizer2`), in the configuration of the inpainting model: no attention, swish as x·sigmoid(x),
GroupNorm(32, eps 1e-6), downsampling by a stride-2 convolution after padding right and bottom by one. Module names
are the release's; the quantiser's straight-through output z + (z_q − z) is kept, as its rounding is the release's."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def swish(x: Tensor) -> Tensor:
    """x·sigmoid(x) (the release's, not F.silu's arithmetic); in place at inference, where callers pass fresh tensors."""
    return x * torch.sigmoid(x) if torch.is_grad_enabled() else x.mul_(torch.sigmoid(x))


def gn(ch: int) -> nn.GroupNorm:
    return nn.GroupNorm(32, ch, eps=1e-6)


class ResnetBlock(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.norm1, self.conv1 = gn(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2, self.conv2 = gn(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.dropout = nn.Dropout(0.0)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(swish(self.norm1(x)))
        h = self.conv2(self.dropout(swish(self.norm2(h))))
        skip = self.nin_shortcut(x) if hasattr(self, "nin_shortcut") else x
        return skip + h if torch.is_grad_enabled() else h.add_(skip)


class Down(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Up(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Middle(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.block_1, self.block_2 = ResnetBlock(ch, ch), ResnetBlock(ch, ch)

    def forward(self, x: Tensor) -> Tensor:
        return self.block_2(self.block_1(x))  # attn_1 is an identity with attn_type 'none'


class Level(nn.Module):
    def __init__(self, blocks: list[nn.Module], resample: nn.Module | None, name: str):
        super().__init__()
        self.block = nn.ModuleList(blocks)
        if resample is not None:
            setattr(self, name, resample)


class VQEncoder(nn.Module):
    def __init__(self, cin: int, ch: int, mult: list[int], blocks: int, z: int):
        super().__init__()
        self.conv_in = nn.Conv2d(cin, ch, 3, padding=1)
        self.down = nn.ModuleList()
        c = ch
        for i, m in enumerate(mult):
            layers = []
            for _ in range(blocks):
                layers.append(ResnetBlock(c, ch * m))
                c = ch * m
            self.down.append(Level(layers, Down(c) if i != len(mult) - 1 else None, "downsample"))
        self.mid = Middle(c)
        self.norm_out, self.conv_out = gn(c), nn.Conv2d(c, z, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv_in(x)
        for level in self.down:
            for block in level.block:
                h = block(h)
            if hasattr(level, "downsample"):
                h = level.downsample(h)
        return self.conv_out(swish(self.norm_out(self.mid(h))))


class VQDecoder(nn.Module):
    def __init__(self, cout: int, ch: int, mult: list[int], blocks: int, z: int):
        super().__init__()
        c = ch * mult[-1]
        self.conv_in = nn.Conv2d(z, c, 3, padding=1)
        self.mid = Middle(c)
        up: list[nn.Module] = []
        for i in reversed(range(len(mult))):
            layers = []
            for _ in range(blocks + 1):
                layers.append(ResnetBlock(c, ch * mult[i]))
                c = ch * mult[i]
            up.insert(0, Level(layers, Up(c) if i != 0 else None, "upsample"))
        self.up = nn.ModuleList(up)
        self.norm_out, self.conv_out = gn(c), nn.Conv2d(c, cout, 3, padding=1)

    def forward(self, z: Tensor) -> Tensor:
        h = self.mid(self.conv_in(z))
        for i in reversed(range(len(self.up))):
            for block in self.up[i].block:
                h = block(h)
            if hasattr(self.up[i], "upsample"):
                h = self.up[i].upsample(h)
        return self.conv_out(swish(self.norm_out(h)))


class Quantizer(nn.Module):
    """Each latent vector → its nearest codebook entry (distance ‖z‖² + ‖e‖² − 2 z·e, the first minimum)."""

    def __init__(self, n: int, dim: int):
        super().__init__()
        self.embedding = nn.Embedding(n, dim)

    def forward(self, z: Tensor) -> Tensor:
        z = z.permute(0, 2, 3, 1).contiguous()
        flat = z.view(-1, z.shape[-1])
        e = self.embedding.weight
        d = torch.sum(flat ** 2, dim=1, keepdim=True) + torch.sum(e ** 2, dim=1) - 2 * torch.einsum("bd,dn->bn", flat, e.t())
        zq = self.embedding(torch.argmin(d, dim=1)).view(z.shape)
        zq = z + (zq - z).detach()
        return zq.permute(0, 3, 1, 2).contiguous()
