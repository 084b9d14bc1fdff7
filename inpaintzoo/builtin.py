"""The core's own plugin: registers the `core.*` components exactly as any plugin would."""
from .components.conv import ConvDecoder, ConvEncoder
from .components.losses import KL, L1, L2
from .components.metrics import FID, PSNR, SSIM, LPIPSMetric, MaskedL1
from .components.priors import GaussianPrior, IdentityPrior
from .data import masks
from .data.celeba import CelebA
from .data.datasets import ImageFolder, SyntheticShapes
from .hookspecs import hookimpl


@hookimpl
def register_components(register):
    register("encoder", "core.conv_encoder", ConvEncoder)
    register("decoder", "core.conv_decoder", ConvDecoder)
    register("prior", "core.identity", IdentityPrior)
    register("prior", "core.gaussian", GaussianPrior)
    register("loss", "core.l1", L1)
    register("loss", "core.l2", L2)
    register("loss", "core.kl", KL)
    register("masks", "core.none", masks.NoMask)
    register("masks", "core.center", masks.CenterMask)
    register("masks", "core.boxes", masks.BoxesMask)
    register("masks", "core.lama", masks.LamaMask)
    register("masks", "core.freeform", masks.FreeFormMask)
    register("dataset", "core.image_folder", ImageFolder)
    register("dataset", "core.shapes", SyntheticShapes)
    register("dataset", "core.celeba", CelebA)
    register("metric", "core.masked_l1", MaskedL1)
    register("metric", "core.psnr", PSNR)
    register("metric", "core.ssim", SSIM)
    register("metric", "core.lpips", LPIPSMetric)
    register("metric", "core.fid", FID)
