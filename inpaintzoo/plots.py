"""Image grids people can read: titled columns and rows, tiles at least 96 px, holes in a contrasting colour.

PIL only (no matplotlib in the core): `labelled_grid` returns the image and its layout (every text with the
box it was drawn in, and every tile's box), so callers and tests can check what is shown where.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

#: candidate hole colours; the one farthest from the images' pixels is used
HOLE_COLOURS = {"magenta": (1.0, 0.0, 1.0), "cyan": (0.0, 1.0, 1.0), "lime": (0.0, 1.0, 0.0), "red": (1.0, 0.0, 0.0),
                "blue": (0.0, 0.0, 1.0), "yellow": (1.0, 1.0, 0.0)}
MIN_TILE = 96


@dataclass
class Layout:
    size: tuple[int, int]
    texts: list[tuple[str, tuple[int, int, int, int]]] = field(default_factory=list)  # (text, box l, t, r, b)
    tiles: list[tuple[int, int, tuple[int, int, int, int]]] = field(default_factory=list)  # (row, col, box)

    def text(self, s: str) -> tuple[int, int, int, int]:
        return next(b for t, b in self.texts if t == s)


def hole_colour(images: Tensor) -> tuple[str, tuple[float, float, float]]:
    """The candidate colour with the largest mean distance to the images' RGB pixels (N×C×H×W in [0, 1])."""
    rgb = images[:, :3] if images.shape[1] >= 3 else images[:, :1].expand(-1, 3, -1, -1)
    px = rgb.permute(0, 2, 3, 1).reshape(-1, 3).float()
    px = px[torch.randperm(len(px), generator=torch.Generator().manual_seed(0))[:20000]]
    best = max(HOLE_COLOURS.items(), key=lambda kv: float((px - torch.tensor(kv[1])).norm(dim=1).mean()))
    return best


def show_holes(images: Tensor, mask: Tensor, colour: tuple[float, float, float]) -> Tensor:
    rgb = images[:, :3] if images.shape[1] >= 3 else images[:, :1].expand(-1, 3, -1, -1)
    c = torch.tensor(colour, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    return torch.where(mask.bool(), c.expand_as(rgb), rgb)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        return ImageFont.load_default()


def labelled_grid(tiles: list[list[Tensor]], col_titles: list[str] | None = None, row_titles: list[str] | None = None,
                  min_tile: int = MIN_TILE, title: str | None = None, captions: list[list[str]] | None = None):
    """A grid of C×H×W images in [0, 1] with titles above columns, left of rows and (optionally) under each tile.

    Tiles are upscaled by an integer factor (nearest) to at least `min_tile` px. Returns (PIL image, Layout).
    """
    from PIL import Image, ImageDraw

    n_rows, n_cols = len(tiles), max(len(r) for r in tiles)
    h, w = tiles[0][0].shape[-2:]
    k = max(1, -(-min_tile // min(h, w)))
    th, tw = h * k, w * k
    font = _font(12)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    def extent(s: str) -> tuple[int, int]:  # noqa: E306
        l, t, r, b = probe.textbbox((0, 0), s, font=font)
        return r - l, b - t
    pad = 4
    left = (max(extent(s)[0] for s in row_titles) + 2 * pad) if row_titles else 0
    head = (max(extent(s)[1] for s in col_titles) + 2 * pad) if col_titles else 0
    top = (extent(title)[1] + 2 * pad) if title else 0
    cap = (max(extent(c)[1] for row in captions for c in row) + pad) if captions else 0
    cw = max([tw] + [extent(c)[0] for row in (captions or []) for c in row] + [extent(t)[0] for t in (col_titles or [])])
    width = max(left + n_cols * (cw + pad) + pad, (extent(title)[0] + 2 * pad) if title else 0)
    height = top + head + n_rows * (th + cap + pad) + pad
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    layout = Layout((width, height))

    def write(s: str, x: int, y: int) -> None:
        draw.text((x, y), s, fill=(0, 0, 0), font=font)
        layout.texts.append((s, tuple(int(v) for v in draw.textbbox((x, y), s, font=font))))

    if title:
        write(title, pad, pad)
    for c, s in enumerate(col_titles or []):
        x0 = left + pad + c * (cw + pad)
        write(s, x0 + max(0, (cw - extent(s)[0]) // 2), top + pad)
    for r, row in enumerate(tiles):
        y0 = top + head + pad + r * (th + cap + pad)
        if row_titles:
            write(row_titles[r], pad, y0 + (th - extent(row_titles[r])[1]) // 2)
        for c, img in enumerate(row):
            x0 = left + pad + c * (cw + pad) + (cw - tw) // 2
            rgb = img[:3] if img.shape[0] >= 3 else img[:1].expand(3, -1, -1)
            arr = (rgb.detach().float().clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()
            canvas.paste(Image.fromarray(arr).resize((tw, th), Image.NEAREST), (x0, y0))
            layout.tiles.append((r, c, (x0, y0, x0 + tw, y0 + th)))
            if captions:
                text = captions[r][c]
                write(text, x0 + max(0, (tw - extent(text)[0]) // 2), y0 + th + 1)
    return canvas, layout


def intervention_grid(model, image, values: dict[str, list[float]], mask=None, threshold: float | None = None):
    """One row per concept, one column per value (each tile captioned with its value), the input first:
    do(concept = value) on `image` (PIL, array or C×H×W tensor), only inside `mask` when given. Each row's title
    names the concept and its descendants in the graph (what the do() may move; everything else should stay).
    Returns (PIL image, Layout)."""
    import numpy as np

    def tensor(out):
        if isinstance(out, Tensor):
            return out
        arr = np.asarray(out)
        arr = arr[..., None] if arr.ndim == 2 else arr
        return torch.from_numpy(arr.copy()).permute(2, 0, 1).float() / (65535.0 if arr.dtype == np.uint16 else 255.0)

    original = tensor(image)
    descendants = model.prior.concept_descendants()
    rows, caps, titles = [], [], []
    for concept, vals in values.items():
        rows.append([original] + [tensor(model.intervene(image, {concept: v}, mask=mask, threshold=threshold)) for v in vals])
        caps.append(["original"] + [f"= {v:.4g}" for v in vals])
        below = descendants.get(concept)
        titles.append(f"{concept} -> {', '.join(below)}" if below else f"{concept} (no descendants)" if below is not None else concept)
    return labelled_grid(rows, row_titles=titles, captions=caps,
                         title="do(row's concept = value under the tile); -> its descendants, the only other concepts "
                               "it may move" + (", inside the mask" if mask is not None else ""))


def save_image(img, path: Path) -> None:
    """Write a PIL image as PNG atomically (inpaintzoo.images.save_image)."""
    from .images import save_image as write

    write(img, path, "PNG")
