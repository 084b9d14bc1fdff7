"""LaMa's high-receptive-field perceptual loss (`resnet_pl`, weight 30): MSE between the features of a ResNet-50
with dilated last stages, trained for ADE20k scene parsing (CSAILVision's `ade20k-resnet50dilated-ppm_deepsup`
encoder, `encoder_epoch_20.pth`), summed over its four stages.

The network is ours (a deep-stem ResNet-50 whose stages 3 and 4 trade their stride for dilations 2 and 4, so it
keeps 1/8 resolution), in the release's key layout so its state dict loads unchanged. Its weights are fetched on
first use like a release (`inpaintzoo.fetch.fetch_file`: resume, size and sha256 recorded on the first download and
checked after) and read with the allow-list reader: nothing in the file is executed.

Batch norms: the release builds the encoder in eval mode, but Lightning's `model.train()` puts every submodule back
in training mode, so during LaMa's training its batch norms normalise with each batch's statistics. `bn = 'eval'`
(default) uses the encoder as the frozen feature network it is meant to be; `bn = 'batch'` is the release's
computation, for exactness with its training step.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from inpaintzoo.errors import InpaintzooError
from inpaintzoo.interfaces import ComponentConfig, Loss, LossContext

ADE20K_URL = "http://sceneparsing.csail.mit.edu/model/pytorch/ade20k-resnet50dilated-ppm_deepsup/encoder_epoch_20.pth"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Bottleneck(nn.Module):
    def __init__(self, cin: int, planes: int, stride: int, dilation: int, downsample: nn.Module | None):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)  # in place, as the release: half the activations kept
        out = F.relu(self.bn2(self.conv2(out)), inplace=True)
        out = self.bn3(self.conv3(out))
        return F.relu(out + (self.downsample(x) if self.downsample is not None else x), inplace=True)


def _stage(cin: int, planes: int, blocks: int, stride: int, dilation: int) -> nn.Sequential:
    """A ResNet stage; with `dilation` > 1 the stride is dropped, the first block dilated by half, the rest fully."""
    down = None
    if stride != 1 or cin != planes * 4:
        down = nn.Sequential(nn.Conv2d(cin, planes * 4, 1, stride=1 if dilation > 1 else stride, bias=False),
                             nn.BatchNorm2d(planes * 4))
    first = Bottleneck(cin, planes, 1 if dilation > 1 else stride, max(1, dilation // 2), down)
    return nn.Sequential(first, *(Bottleneck(planes * 4, planes, 1, dilation, None) for _ in range(blocks - 1)))


class DilatedResNet50(nn.Module):
    """Deep stem (three 3×3 convs: 3 → 64 (stride 2) → 64 → 128), max pool, stages [3, 4, 6, 3] with dilations
    1, 1, 2, 4: features at 1/4, 1/8, 1/8, 1/8 of the input."""

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 64, 3, 2, 1, bias=False), nn.BatchNorm2d(64)
        self.conv2, self.bn2 = nn.Conv2d(64, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64)
        self.conv3, self.bn3 = nn.Conv2d(64, 128, 3, 1, 1, bias=False), nn.BatchNorm2d(128)
        self.layer1 = _stage(128, 64, 3, 1, 1)
        self.layer2 = _stage(256, 128, 4, 2, 1)
        self.layer3 = _stage(512, 256, 6, 2, 2)
        self.layer4 = _stage(1024, 512, 3, 2, 4)

    def forward(self, x: Tensor) -> list[Tensor]:
        x = F.relu(self.bn1(self.conv1(x)), inplace=True)
        x = F.relu(self.bn2(self.conv2(x)), inplace=True)
        x = F.max_pool2d(F.relu(self.bn3(self.conv3(x)), inplace=True), 3, 2, 1)
        out = []
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = stage(x)
            out.append(x)
        return out


def load_encoder(weights: str, url: str) -> DilatedResNet50:
    """The ADE20k encoder, frozen: 'fetch' (downloaded once, checked), a path to encoder_epoch_20.pth (read with the
    allow-list reader) or to a safetensors state dict, or 'random' (seeded; only on purpose)."""
    net = DilatedResNet50()
    if weights == "random":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            net = DilatedResNet50()
    else:
        path = _weights_file(weights, url)
        state = _read_state(path)
        ours = net.state_dict()
        missing = [k for k in ours if k not in state and not k.endswith("num_batches_tracked")]  # older files lack it
        wrong = [k for k in ours if k in state and tuple(state[k].shape) != tuple(ours[k].shape)]
        if missing or wrong:
            bad = (missing or wrong)[0]
            raise InpaintzooError(f"lama.resnet_pl weights = '{weights}': {path} is not the ADE20k ResNet-50-dilated "
                                  f"encoder ({'missing' if missing else 'mis-shaped'} {bad}); give encoder_epoch_20.pth")
        net.load_state_dict({k: state[k].to(ours[k].dtype) if k in state else ours[k] for k in ours})
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def _weights_file(weights: str, url: str) -> Path:
    if weights != "fetch":
        path = Path(weights).expanduser()
        if not path.is_file():
            raise InpaintzooError(f"lama.resnet_pl weights = '{weights}': no such file (expected encoder_epoch_20.pth "
                                  f"from {ADE20K_URL}, or 'fetch')")
        return path
    from inpaintzoo.fetch import fetch_file
    from inpaintzoo.zoo import Source

    return fetch_file("ade20k-resnet50dilated", Source(file="encoder_epoch_20.pth", url=url))


def _read_state(path: Path) -> dict[str, Tensor]:
    if path.suffix == ".safetensors":
        import safetensors.torch

        try:
            return safetensors.torch.load_file(str(path))
        except Exception as exc:
            raise InpaintzooError(f"{path}: not a safetensors file ({str(exc).splitlines()[0][:80]})") from None
    from inpaintzoo.convert import read_checkpoint, tensors

    ckpt = read_checkpoint(path)
    state = tensors(ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else {})
    return {k.removeprefix("module."): v for k, v in state.items()}


class ResNetPLConfig(ComponentConfig):
    weights: str = Field("fetch", description="'fetch' (the ADE20k encoder, downloaded once and checked), a path to "
                                              "encoder_epoch_20.pth or a safetensors state dict, or 'random' (untrained, "
                                              "on purpose)")
    url: str = Field(ADE20K_URL, description="where 'fetch' downloads encoder_epoch_20.pth from")
    bn: Literal["eval", "batch"] = Field("eval", description="'eval': frozen statistics (the intended use); 'batch': "
                                                             "each batch's statistics, as LaMa's training ran it")


class ResNetPL(Loss):
    """Σ over the four stages of MSE(features(pred), features(target)), images ImageNet-normalised from [0, 1]."""

    Config = ResNetPLConfig

    def __init__(self, cfg: ResNetPLConfig):
        super().__init__(cfg)
        object.__setattr__(self, "_net", load_encoder(cfg.weights, cfg.url))  # not part of any published model

    def _features(self, x: Tensor, ctx: LossContext) -> list[Tensor]:
        net = self._net.to(x.device)
        net.train(self.cfg.bn == "batch")
        x01 = x if ctx.model is None else _to01(x, ctx.model.contract)
        mean = torch.tensor(IMAGENET_MEAN, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        return net((x01 - mean) / std)

    def forward(self, ctx: LossContext) -> Tensor:
        pred = self._features(ctx.pred, ctx)
        with torch.no_grad():
            target = self._features(ctx.target, ctx)
        return torch.stack([F.mse_loss(p, t) for p, t in zip(pred, target)]).sum()

    @classmethod
    def example_config(cls, workdir) -> ResNetPLConfig:
        return ResNetPLConfig(weights="random")

    def example_inputs(self, batch_size: int = 2) -> tuple:
        from inpaintzoo.testing import dummy_loss_context

        return (dummy_loss_context(batch_size, size=32),)


def _to01(x: Tensor, contract) -> Tensor:
    from inpaintzoo.contract import denormalize

    return denormalize(x, contract)
