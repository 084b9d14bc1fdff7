"""MAT's two stages as the release builds them: the coarse stage (partial convolutions down to 64², the
mask-aware transformer 64² → 16² → 64², style-modulated upsampling back) and the refinement network's
convolutional encoder, style head and StyleGAN2 decoder. Names are the release's (`synthesis.*`)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .layers import Conv2dLayer, FullyConnected, PartialConv, StyleConv, ToRGB
from .transformer import BasicLayer, Resample, feature2token, token2feature

#: channels per resolution (the release's `nf`), capped by a config's channel_max for small test models
CHANNELS = {512: 64, 256: 128, 128: 256, 64: 512, 32: 512, 16: 512, 8: 512, 4: 512}


def nf(res: int, cap: int = 512) -> int:
    return min(CHANNELS[res], cap)


def mix_noise(x: Tensor, add: Tensor, order: tuple[int, ...] | None = None) -> Tensor:
    """The release's test-time dropout: each element keeps x or takes `add`, with probability ½ each (F.dropout of
    a ½-map in training mode, drawn from torch's generator: this is what makes MAT sample).

    The generator fills the map in memory order, which in the release follows x's strides (`ones_like`): `order` is
    the dimension order the release's x is stored in there (None: contiguous). The map is drawn in that order
    whatever x's layout here, so a channels-last run draws the release's sample too."""
    shape = tuple(x.shape[d] for d in order) if order else x.shape
    keep = F.dropout(torch.ones(shape, dtype=x.dtype, device=x.device) * 0.5, training=True)
    if order:
        keep = keep.permute([order.index(d) for d in range(x.ndim)])
    return x * keep + add * (1 - keep)


class StyleBlock(nn.Module):
    """2× up modulated conv, + skip, modulated conv, to-RGB accumulating the image (`DecStyleBlock`, `DecBlock`)."""

    def __init__(self, res: int, cin: int, cout: int, style_dim: int, use_noise: bool, img_channels: int):
        super().__init__()
        self.conv0 = StyleConv(cin, cout, style_dim, res, up=2, use_noise=use_noise)
        self.conv1 = StyleConv(cout, cout, style_dim, res, use_noise=use_noise)
        self.toRGB = ToRGB(cout, img_channels, style_dim)

    def forward(self, x: Tensor, img: Tensor | None, styles: tuple[Tensor, Tensor, Tensor], skip: Tensor,
                noise_mode: str) -> tuple[Tensor, Tensor]:
        x = self.conv0(x, styles[0], noise_mode) + skip
        x = self.conv1(x, styles[1], noise_mode)
        return x, self.toRGB(x, styles[2], skip=img)


class FirstStage(nn.Module):
    """Coarse prediction: masked image → partial convs to 64² → transformer (64, 32, 16, 32, 64 with skips; noise
    mixed in at 16²) → style-modulated blocks back to full size. Masks are 1 = valid."""

    DEPTHS, WINDOWS, HEADS = (2, 3, 4, 3, 2), (8, 16, 16, 16, 8), 6

    def __init__(self, img_channels: int, resolution: int, dim: int, w_dim: int):
        super().__init__()
        self.conv_first = PartialConv(img_channels + 1, dim, 3)
        downs = int(math.log2(resolution // 64))
        self.enc_conv = nn.ModuleList(PartialConv(dim, dim, 3, down=2) for _ in range(downs))
        res, self.tran = 64, nn.ModuleList()
        for i, (depth, window) in enumerate(zip(self.DEPTHS, self.WINDOWS)):
            resample = Resample(dim, down=2) if i in (1, 2) else Resample(dim, up=2) if i in (3, 4) else None
            res = res // 2 if i in (1, 2) else res * 2 if i in (3, 4) else res
            self.tran.append(BasicLayer(dim, res, depth, self.HEADS, window, resample))
        self.down_conv = nn.Sequential(*(Conv2dLayer(dim, dim, 3, down=2) for _ in range(4)), nn.AdaptiveAvgPool2d(1))
        self.to_style = FullyConnected(dim, dim * 2, lrelu=True)
        self.ws_style = FullyConnected(w_dim, dim, lrelu=True)
        self.to_square = FullyConnected(dim, 16 * 16, lrelu=True)
        self.dec_conv = nn.ModuleList(StyleBlock(64 * 2 ** (i + 1), dim, dim, dim * 3, False, img_channels)
                                      for i in range(downs))

    def forward(self, image: Tensor, valid: Tensor, ws: Tensor) -> Tensor:
        x, mask = self.conv_first(torch.cat([valid - 0.5, image * valid], dim=1), valid)
        skips = [x]
        for i, block in enumerate(self.enc_conv):
            x, mask = block(x, mask)
            if i != len(self.enc_conv) - 1:
                skips.append(x)
        size = x.size()[-2:]
        x, mask = feature2token(x), feature2token(mask)
        mid = len(self.tran) // 2
        for i, block in enumerate(self.tran):
            if i < mid:
                x, size, mask = block(x, size, mask)
                skips.append(x)
            elif i > mid:
                x, size, _ = block(x, size, None)
                x = x + skips[mid - i]
            else:
                x, size, _ = block(x, size, None)
                w = self.ws_style(ws[:, -1])
                add = F.interpolate(self.to_square(w).unsqueeze(1), size=x.size(1), mode="linear", align_corners=False)
                x = mix_noise(x, add.squeeze(1).unsqueeze(-1), order=(0, 2, 1))  # the release's tokens: N×C×L in memory
                gs = self.to_style(self.down_conv(token2feature(x, size)).flatten(start_dim=1))
                style = torch.cat([gs, w], dim=1)
        x = token2feature(x, size).contiguous()
        img = None
        for i, block in enumerate(self.dec_conv):
            x, img = block(x, img, (style, style, style), skips[len(self.dec_conv) - i - 1], "none")
        return img * (1 - valid) + image * valid


class ConvPair(nn.Module):
    """Two convolutions in a row (`EncFromRGB`: 1×1 then 3×3; `ConvBlockDown`: 3×3 ↓2 then 3×3)."""

    def __init__(self, cin: int, cout: int, first_kernel: int, down: int):
        super().__init__()
        self.conv0 = Conv2dLayer(cin, cout, first_kernel, down=down)
        self.conv1 = Conv2dLayer(cout, cout, 3)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv1(self.conv0(x))


class ConvEncoder(nn.Module):
    """The refinement network's encoder: 1×1 + 3×3 at full size, then (3×3 ↓2, 3×3) per level down to 16²;
    `EncConv_Block_{r}x{r}`, features by log2 resolution."""

    def __init__(self, resolution: int, img_channels: int, cap: int = 512):
        super().__init__()
        self.resolutions = [2 ** i for i in range(int(math.log2(resolution)), 3, -1)]
        for r in self.resolutions:
            if r == resolution:  # EncFromRGB: mask, composite and masked image in
                block = ConvPair(img_channels * 2 + 1, nf(r, cap), first_kernel=1, down=1)
            else:  # ConvBlockDown
                block = ConvPair(nf(r * 2, cap), nf(r, cap), first_kernel=3, down=2)
            setattr(self, f"EncConv_Block_{r}x{r}", block)

    def forward(self, x: Tensor) -> list[Tensor]:
        out = []
        for r in self.resolutions:
            x = getattr(self, f"EncConv_Block_{r}x{r}")(x)
            out.append(x)
        return out


class ToStyle(nn.Module):
    """Global style code from the 16² feature: three 3×3 ↓2 convolutions, average pool, a linear layer."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Sequential(*(Conv2dLayer(cin, cin, 3, down=2) for _ in range(3)))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = FullyConnected(cin, cout, lrelu=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.pool(self.conv(x)).flatten(start_dim=1))


class FirstDecBlock(nn.Module):
    """`DecBlockFirstV2` at 16²: a 3×3 convolution, + the encoder's 16² feature, a modulated conv, to-RGB."""

    def __init__(self, ch: int, style_dim: int, use_noise: bool, img_channels: int):
        super().__init__()
        self.conv0 = Conv2dLayer(ch, ch, 3)
        self.conv1 = StyleConv(ch, ch, style_dim, 16, use_noise=use_noise)
        self.toRGB = ToRGB(ch, img_channels, style_dim)

    def forward(self, x: Tensor, enc: Tensor, styles: tuple[Tensor, Tensor], noise_mode: str) -> tuple[Tensor, Tensor]:
        x = self.conv1(self.conv0(x) + enc, styles[0], noise_mode)
        return x, self.toRGB(x, styles[1])
