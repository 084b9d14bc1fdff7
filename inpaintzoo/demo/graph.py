"""A causal graph as a picture: concepts on a circle, an arrow per edge (its weight beside it), the intervened
concepts filled red and their descendants orange: what a do() may move, and what must stay."""
from __future__ import annotations

import math
from typing import Any


def draw_graph(names: list[str], edges: list[tuple[str, str, float]], intervened: set[str], descendants: set[str],
               size: int = 360) -> Any:
    from PIL import Image, ImageDraw

    from ..plots import _font

    img = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(img)
    font = _font(13)
    r_nodes, centre = size * 0.34, size / 2
    pos = {n: (centre + r_nodes * math.cos(2 * math.pi * i / max(1, len(names)) - math.pi / 2),
               centre + r_nodes * math.sin(2 * math.pi * i / max(1, len(names)) - math.pi / 2)) for i, n in enumerate(names)}
    radius = 26
    for cause, effect, w in edges:
        (x0, y0), (x1, y1) = pos[cause], pos[effect]
        length = math.hypot(x1 - x0, y1 - y0) or 1.0
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        a, b = (x0 + ux * radius, y0 + uy * radius), (x1 - ux * radius, y1 - uy * radius)
        colour = (200, 40, 40) if cause in intervened or cause in descendants else (90, 90, 90)
        d.line([a, b], fill=colour, width=3)
        head = [(b[0], b[1]), (b[0] - 12 * ux + 6 * uy, b[1] - 12 * uy - 6 * ux), (b[0] - 12 * ux - 6 * uy, b[1] - 12 * uy + 6 * ux)]
        d.polygon(head, fill=colour)
        d.text(((a[0] + b[0]) / 2 + 4, (a[1] + b[1]) / 2 + 4), f"{w:.2f}", fill=colour, font=font)
    for n, (x, y) in pos.items():
        fill = (230, 60, 60) if n in intervened else (250, 170, 60) if n in descendants else (225, 225, 225)
        d.ellipse([x - radius, y - radius, x + radius, y + radius], fill=fill, outline=(40, 40, 40), width=2)
        l, t, rr, bb = d.textbbox((0, 0), n, font=font)
        d.text((x - (rr - l) / 2, y + radius + 3), n, fill=(0, 0, 0), font=font)
    legend = "red: do(); orange: its descendants (may move); grey: must stay"
    d.text((6, size - 18), legend, fill=(60, 60, 60), font=_font(11))
    return img
