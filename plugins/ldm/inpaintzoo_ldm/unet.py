"""The denoising U-Net of latent diffusion (`ldm/modules/diffusionmodules/openaimodel.py`, ADM's design) in the
configuration its inpainting model uses: residual blocks conditioned on a sinusoidal timestep embedding (added
after the first convolution), residual blocks for up- and downsampling, and multi-head self-attention (the
"legacy" head split) at the listed downsampling rates. Module names and the order of every operation are the
release's: its GroupNorm runs in float32, its SiLU is `nn.SiLU`, its attention scales q and k by d^(−1/4) each."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def timestep_embedding(t: Tensor, dim: int, max_period: int = 10000) -> Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(0, half, dtype=torch.float32) / half).to(t.device)
    args = t[:, None].float() * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    return torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1) if dim % 2 else emb


class GroupNorm32(nn.GroupNorm):
    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.float()).type(x.dtype)


def norm(ch: int) -> GroupNorm32:
    return GroupNorm32(32, ch)


class Resample(nn.Module):
    """Nearest 2× up, or 2×2 average pooling down (the up/down residual blocks' parameter-free resampling)."""

    def __init__(self, up: bool):
        super().__init__()
        self.up = up

    def forward(self, x: Tensor) -> Tensor:
        return F.interpolate(x, scale_factor=2, mode="nearest") if self.up else F.avg_pool2d(x, 2, 2)


class ResBlock(nn.Module):
    def __init__(self, cin: int, emb: int, cout: int, up: bool = False, down: bool = False):
        super().__init__()
        self.in_layers = nn.Sequential(norm(cin), nn.SiLU(), nn.Conv2d(cin, cout, 3, padding=1))
        self.updown = up or down
        self.h_upd = self.x_upd = Resample(up) if self.updown else nn.Identity()
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb, cout))
        self.out_layers = nn.Sequential(norm(cout), nn.SiLU(), nn.Dropout(0.0), nn.Conv2d(cout, cout, 3, padding=1))
        self.skip_connection = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1)

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        if not torch.is_grad_enabled():
            return self._infer(x, emb)
        if self.updown:
            h = self.in_layers[2](self.h_upd(self.in_layers[:-1](x)))
            x = self.x_upd(x)
        else:
            h = self.in_layers(x)
        h = self.out_layers(h + self.emb_layers(emb).type(h.dtype)[..., None, None])
        return self.skip_connection(x) + h

    def _infer(self, x: Tensor, emb: Tensor) -> Tensor:
        """The same operations with the element-wise ones in place on tensors made here (sums commuted, which
        changes no bit): the CPU's time in these blocks is memory traffic."""
        h = F.silu(self.in_layers[0](x), inplace=True)
        if self.updown:
            h, x = self.h_upd(h), self.x_upd(x)
        h = self.in_layers[2](h)
        h += self.emb_layers(emb).type(h.dtype)[..., None, None]
        h = self.out_layers[3](F.silu(self.out_layers[0](h), inplace=True))
        return h.add_(self.skip_connection(x))


class AttentionBlock(nn.Module):
    """Self-attention over all positions; heads split before q/k/v (`QKVAttentionLegacy`)."""

    def __init__(self, ch: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm = norm(ch)
        self.qkv = nn.Conv1d(ch, ch * 3, 1)
        self.proj_out = nn.Conv1d(ch, ch, 1)

    def forward(self, x: Tensor) -> Tensor:
        b, c, *spatial = x.shape
        x = x.reshape(b, c, -1)
        qkv = self.qkv(self.norm(x))
        bs, width, length = qkv.shape
        ch = width // (3 * self.heads)
        q, k, v = qkv.reshape(bs * self.heads, ch * 3, length).split(ch, dim=1)
        scale = 1 / math.sqrt(math.sqrt(ch))
        weight = torch.einsum("bct,bcs->bts", q * scale, k * scale)
        weight = torch.softmax(weight.float(), dim=-1).type(weight.dtype)
        h = torch.einsum("bts,bcs->bct", weight, v).reshape(bs, -1, length)
        out = self.proj_out(h)
        out = out.add_(x) if not torch.is_grad_enabled() else x + out  # x + out, without a new tensor at inference
        return out.reshape(b, c, *spatial)


class Step(nn.ModuleList):
    """`TimestepEmbedSequential`: residual blocks take the timestep embedding, other layers only x."""

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        for layer in self:
            x = layer(x, emb) if isinstance(layer, ResBlock) else layer(x)
        return x


class UNet(nn.Module):
    def __init__(self, cin: int, cout: int, ch: int, mult: list[int], blocks: int, attention: list[int], heads: int):
        super().__init__()
        emb = ch * 4
        self.ch = ch
        self.time_embed = nn.Sequential(nn.Linear(ch, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.input_blocks = nn.ModuleList([Step([nn.Conv2d(cin, ch, 3, padding=1)])])
        chans, c, ds = [ch], ch, 1
        for level, m in enumerate(mult):
            for _ in range(blocks):
                layers: list[nn.Module] = [ResBlock(c, emb, m * ch)]
                c = m * ch
                if ds in attention:
                    layers.append(AttentionBlock(c, heads))
                self.input_blocks.append(Step(layers))
                chans.append(c)
            if level != len(mult) - 1:
                self.input_blocks.append(Step([ResBlock(c, emb, c, down=True)]))
                chans.append(c)
                ds *= 2
        self.middle_block = Step([ResBlock(c, emb, c), AttentionBlock(c, heads), ResBlock(c, emb, c)])
        self.output_blocks = nn.ModuleList()
        for level, m in list(enumerate(mult))[::-1]:
            for i in range(blocks + 1):
                layers = [ResBlock(c + chans.pop(), emb, ch * m)]
                c = ch * m
                if ds in attention:
                    layers.append(AttentionBlock(c, heads))
                if level and i == blocks:
                    layers.append(ResBlock(c, emb, c, up=True))
                    ds //= 2
                self.output_blocks.append(Step(layers))
        self.out = nn.Sequential(norm(c), nn.SiLU(), nn.Conv2d(ch, cout, 3, padding=1))

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        emb = self.time_embed(timestep_embedding(t, self.ch))
        hs, h = [], x
        for module in self.input_blocks:
            h = module(h, emb)
            hs.append(h)
        h = self.middle_block(h, emb)
        for module in self.output_blocks:
            h = module(torch.cat([h, hs.pop()], dim=1), emb)
        return self.out(h)
