"""PConv beside its inpaintzoo port: mmagic's own modules and its inpaintor's test-time steps.

mmagic's PConvEncoderDecoder is built from a folder holding its package and configs (`--mmagic PATH`, as
parity_gl.py; needs mmengine and mmcv-lite) by its own config (`configs/_base_/models/base_pconv.py`; SyncBN as
plain batch norm: the same computation at inference), its `PartialConv2d` registered as mmcv's `PConv` as mmagic's
import does. Random weights and batch-norm statistics, eval mode, saved in its checkpoint layout (`state_dict` with
`generator.*`, the mask kernels included), converted with `inpaintzoo convert` and compared at two sizes (one padded
by the contract): the network output, and `inpaint()` against PConvInpaintor.forward_tensor's steps (BGR [−1, 1],
holes 127.5 → 0, valid mask ×3, composite) and its 8-bit output ((x + 1)·127.5, truncated).

    python benchmarks/release_parity.py --mmagic /tmp/mmco --name release_parity_mmagic
"""
from __future__ import annotations

import importlib.util
import runpy
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from parity_deepfill import mmagic_encdec  # noqa: E402
from parity_gl import against_pipeline, convert_mmagic, randomise, sample  # noqa: E402

FILES = ("partial_conv.py", "mask_conv_module.py", "pconv_encoder.py", "pconv_decoder.py", "pconv_encoder_decoder.py")


def mmagic_pconv(checkout: Path):
    from mmengine.registry import MODELS

    mmagic_encdec(checkout)  # sets up parity_deepfill's stand-in mmagic registry (as parity_gl does)
    for name in FILES:
        dotted = "mmagic.models.editors.pconv." + name[:-3]
        spec = importlib.util.spec_from_file_location(dotted, checkout / "mmagic/models/editors/pconv" / name)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[dotted] = mod
        spec.loader.exec_module(mod)
        if name == "partial_conv.py" and "PConv" not in MODELS.module_dict:
            MODELS.register_module("PConv", module=mod.PartialConv2d)  # what mmagic's registry chain does
    cfg = dict(runpy.run_path(str(checkout / "configs/_base_/models/base_pconv.py"))["model"]["encdec"])
    cfg["encoder"] = {**cfg["encoder"], "norm_cfg": {"type": "BN", "requires_grad": False}}
    cfg["decoder"] = {**cfg["decoder"], "norm_cfg": {"type": "BN"}}
    return sys.modules["mmagic.registry"].MODELS.build(cfg)


def scale_output(net: torch.nn.Module) -> None:
    """The last layer scaled so 99 % of the output lies in (−0.5, 0.5) on a photo-like input: the random weights otherwise
    give outputs near ±30, which the clamp to [−1, 1] would hide."""
    g = torch.Generator().manual_seed(1)
    x = torch.rand(1, 3, 256, 256, generator=g) * 2 - 1
    valid = torch.ones(1, 3, 256, 256)
    valid[..., 64:160, 80:200] = 0
    with torch.no_grad():
        out, _ = net(x * valid, valid)
        scale = 0.5 / float(out.abs().flatten().quantile(0.99))
        net.decoder.dec1.conv.weight.mul_(scale)
        net.decoder.dec1.conv.bias.mul_(scale)


def run(checkout: Path, work: Path) -> list[dict]:
    net = mmagic_pconv(checkout).eval()
    randomise(net, 0)
    scale_output(net)
    ours = convert_mmagic(net, "pconv-places", work)  # the mask kernels included, as mmagic saves them
    rows = []
    rng = np.random.default_rng(0)
    for h, w in ((256, 256), (200, 328)):
        image, hole = sample(rng, h, w)
        # contiguous N×C×H×W, as mmagic's image_to_tensor (`permute(2, 0, 1).contiguous()`) hands its network
        bgr = torch.from_numpy(image[..., ::-1].copy()).permute(2, 0, 1)[None].float().contiguous()
        m = torch.from_numpy(hole)[None, None].float()
        masked = (bgr * (1 - m) + 127.5 * m - 127.5) / 127.5
        x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
        with torch.no_grad():  # mmagic's network on the image padded as our contract pads it (any multiple of 128)
            from inpaintzoo import contract as C

            xp, mp, how = C.to_network_size(x, m, ours.contract)
            bgr_p = (xp * 255).round().flip(1).contiguous()
            masked_p = (bgr_p * (1 - mp) + 127.5 * mp - 127.5) / 127.5
            theirs_p, _ = net(masked_p, (1.0 - mp).repeat(1, 3, 1, 1))
            net_d = (theirs_p.flip(1) - ours.run(xp.contiguous(), mp)[1]).abs()
            theirs = C.from_network_size(theirs_p, how)
        inside = theirs.expand(-1, 3, -1, -1)[m.expand(-1, 3, -1, -1) > 0]
        rows.append({"release": "PConv", "layout": "mmagic checkpoint", "size": f"{h}×{w}",
                     "saturated": float(((inside <= -1) | (inside >= 1)).float().mean()),
                     "net_max": float(net_d.max()), "net_mean": float(net_d.mean()),
                     **against_pipeline(ours, theirs, masked, image, hole)})
        print(rows[-1], flush=True)
    return rows


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        run(Path(sys.argv[1]), Path(tmp))
