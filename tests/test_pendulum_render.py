"""The pendulum rasteriser against matplotlib drawing the release's figure (seed-systems §3.1).

The reference image is drawn here with matplotlib from the documented scene: a 1×1-inch figure saved at
dpi 96, default axes box, xlim (0, 20), ylim (−1, 21), axis off; the rod and the shadow are two-point
polygons with linewidth 3, the bob (firebrick, r 1.5) and the sun (orange, r 3) are circles with the
default 1-pt edge, added in the order rod, bob, sun, shadow.
"""
import io
import math

import numpy as np
import pytest

from inpaintzoo_causalvae.pendulum import Scene, grid, render

plt = pytest.importorskip("matplotlib.pyplot")


def matplotlib_scene(i: int, j: int) -> np.ndarray:
    from PIL import Image

    theta, phi = i * math.pi / 200, j * math.pi / 200
    proj = lambda x, y, base: (base - (y - x * math.tan(phi))) / math.tan(phi)  # noqa: E731
    fig = plt.figure(figsize=(1.0, 1.0))
    ax = fig.gca()
    bob = (10 + 8 * math.sin(theta), 10.5 - 8 * math.cos(theta))
    ax.add_artist(plt.Polygon(([10, 10.5], bob), color="black", linewidth=3))
    ax.add_artist(plt.Circle(bob, 1.5, color="firebrick"))
    ax.add_artist(plt.Circle((proj(10, 10.5, 20.5), 20.5), 3, color="orange"))
    a, b = proj(10, 10.5, -0.5), proj(10 + 9.5 * math.sin(theta), 10.5 - 9.5 * math.cos(theta), -0.5)
    mid, shade = (a + b) / 2, max(3, abs(a - b))
    ax.add_artist(plt.Polygon(([mid - shade / 2, -0.5], [mid + shade / 2, -0.5]), color="black", linewidth=3))
    ax.set_xlim((0, 20))
    ax.set_ylim((-1, 21))
    plt.axis("off")
    buf = io.BytesIO()
    fig.savefig(buf, dpi=96)
    plt.close(fig)
    return np.asarray(Image.open(buf).convert("RGB"))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b) / 255.0).__pow__(2).mean())
    return 100.0 if mse == 0 else 10 * math.log10(1 / mse)


def test_scenes_match_matplotlib_renderings():
    import matplotlib

    matplotlib.use("Agg")
    items = grid()
    rng = np.random.default_rng(0)
    picks = [items[k][:2] for k in rng.choice(len(items), 16, replace=False)] + [(0, 80), (-40, 60), (43, 147)]  # + a vertical rod, the extremes
    values = [psnr(render(Scene.factual(i, j), 96), matplotlib_scene(i, j)) for i, j in picks]
    # measured 51.2 dB median (the first rasteriser without edge strokes, butt ends and snapping: 24.3 dB)
    assert np.median(values) > 45 and min(values) > 40, values


def test_bob_and_shadow_sizes_follow_the_figure():
    """The bob is its 1.5-unit ellipse grown by the ½-pt edge; the shadow bar is snapped to whole pixels."""
    s = Scene.factual(0, 120)
    img = render(s, 96).astype(int)
    red = (img[..., 0] > 150) & (img[..., 1] < 100)
    sx, sy = 96 * 0.775 / 20, 96 * 0.77 / 22  # pixels per data unit inside the default axes box
    grow = 0.5 * 96 / 72
    assert red.sum() == pytest.approx(math.pi * (1.5 * sx + grow) * (1.5 * sy + grow), rel=0.08)
    rows = np.nonzero((img[80:, :, :].sum(-1) == 0).any(1))[0] + 80
    assert rows.tolist() == [82, 83, 84]  # 4-px bar centred on row 84, clipped by the axes box at row 85
