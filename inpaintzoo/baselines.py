"""Classical inpainting as a yardstick: OpenCV's Telea and Navier-Stokes methods behind the same `run()` a model
has, so `inpaintzoo eval MODEL --baseline telea` scores them on exactly the model's images and masks.
OpenCV is optional (`pip install opencv-python-headless`)."""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from .errors import InputError

METHODS = ("telea", "ns")


class Classical(nn.Module):
    """An OpenCV inpainting method with the model interface evaluation uses (images in the contract's units)."""

    def __init__(self, method: str, contract):
        super().__init__()
        if method not in METHODS:
            raise InputError(f"--baseline {method}: expected one of {', '.join(METHODS)}")
        try:
            import cv2
        except ImportError:
            raise InputError(f"--baseline {method}: needs OpenCV; `pip install opencv-python-headless`") from None
        self.flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
        self.method, self.contract = method, contract
        self.anchor = nn.Parameter(torch.zeros(1), requires_grad=False)  # a device for the evaluation loop to read

    def run(self, image01: Tensor, mask: Tensor) -> tuple[None, Tensor, None, None]:
        import cv2

        from .contract import normalize

        out = []
        for img, m in zip(image01, mask):
            arr = (img.permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
            hole = (m[0].cpu().numpy() > 0).astype(np.uint8) * 255
            res = cv2.inpaint(np.ascontiguousarray(arr), hole, 3, self.flag)
            res = res[..., None] if res.ndim == 2 else res
            out.append(torch.from_numpy(res).permute(2, 0, 1).float() / 255)
        return None, normalize(torch.stack(out).to(image01.device), self.contract), None, None
