"""`inpaintzoo demo` in a real browser: headless Chromium (Debian's package) driven by Playwright, against the page
served on a free loopback port. `.ci/run` installs Chromium when it is missing, so CI runs this."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("gradio")
pytest.importorskip("playwright")
from inpaintzoo.demo import browser as B  # noqa: E402
from inpaintzoo.demo.app import EXAMPLE_SIDE  # noqa: E402

pytestmark = pytest.mark.skipif(B.chromium() is None, reason="no Chromium (apt-get install chromium)")


def test_draw_inpaint_download_and_bad_input_in_a_real_browser(tmp_path):
    photo = tmp_path / "photo.png"
    Image.fromarray((np.random.default_rng(0).random((96, 128, 3)) * 255).astype(np.uint8)).save(photo)
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with B.served(["core-shapes-tiny", str(tmp_path / "no-such-model")], max_pixels=200 * 200) as url, B.page(url) as pg:
        B.upload(pg, photo)
        B.draw_stroke(pg, [(0.4, 0.4), (0.62, 0.58)])
        pg.click("#inpaint")
        assert "inpainted" in B.wait_status(pg, "inpainted", 60)
        result = np.asarray(Image.open(B.download(pg, "result", tmp_path / "result.png")).convert("RGB"))
        mask = np.asarray(Image.open(B.download(pg, "mask-used", tmp_path / "mask.png")).convert("L")) > 0
        src = np.asarray(Image.open(photo))
        assert result.shape == src.shape and 100 < mask.sum() < mask.size // 2  # the stroke, not the whole picture
        assert np.array_equal(result[~mask], src[~mask])  # outside the stroke: the user's pixels
        assert (result[mask] != src[mask]).any(axis=-1).mean() > 0.9  # inside: filled
        ys, xs = np.nonzero(mask)  # where the stroke was drawn: the middle of the picture
        assert 0.25 < xs.mean() / src.shape[1] < 0.75 and 0.25 < ys.mean() / src.shape[0] < 0.75
        # a picture above --max-pixels: one line in the page, and the page still works
        big = tmp_path / "big.png"
        Image.fromarray(np.zeros((300, 300, 3), np.uint8)).save(big)
        B.upload(pg, big)
        B.draw_stroke(pg, [(0.4, 0.4), (0.6, 0.6)])
        pg.click("#inpaint")
        text = B.wait_status(pg, "limit of")
        assert text.startswith("error:") and "more than this demo's limit of 40,000 pixels" in text and len(text.splitlines()) == 1
        # a corrupt file: the page says so in one line, and the server keeps serving
        pg.set_input_files("input[data-testid='open a photo-upload-button']", str(tmp_path / "bad.png"))
        text = B.wait_status(pg, "unreadable image")
        assert text.startswith("error:") and len(text.strip().splitlines()) == 1 and "Traceback" not in pg.content()
        # a model without weights: one line naming it
        pg.select_option("#model select", str(tmp_path / "no-such-model")) if pg.query_selector("#model select") else \
            _choose(pg, str(tmp_path / "no-such-model"))
        assert "no such model folder" in B.wait_status(pg, "no such model folder")
        _choose(pg, "core-shapes-tiny")
        B.wait_status(pg, "ready")
        B.upload(pg, photo)
        B.draw_stroke(pg, [(0.3, 0.3), (0.5, 0.5)])
        pg.click("#inpaint")
        assert "inpainted" in B.wait_status(pg, "inpainted", 60)


def _choose(pg, value: str) -> None:
    """Gradio's dropdown is a text box with a list: type the choice, pick it."""
    box = pg.query_selector("#model input")
    box.click()
    box.fill(value)
    pg.keyboard.press("Enter")


def test_a_concept_slider_moves_the_concept_and_its_descendants_not_the_rest(tmp_path):
    with B.served(["causal-nvae-pendulum"]) as url, B.page(url) as pg:
        pg.click("#example")
        B.wait_status(pg, "sliders show")
        before = {r[0]: float(r[1]) for r in _table(pg)} if _table(pg) else None
        start = float(pg.query_selector("#concept-0 input[type=number]").input_value())
        B.set_slider(pg, 0, round(start + 40 if start < 0 else start - 40))  # pendulum: → shadow_length, shadow_position
        pg.click("#do")
        status = B.wait_status(pg, "intervened")
        assert "pendulum =" in status
        rows = {r[0]: r for r in _table(pg)}
        change = {k: abs(float(r[4])) for k, r in rows.items()}
        assert rows["pendulum"][5] == "do()" and rows["light"][5] == "must stay"
        assert rows["shadow_length"][5].startswith("descendant")
        assert change["pendulum"] > 10 and change["light"] < change["pendulum"]  # the image changed; a non-descendant less
        side = Image.open(B.download(pg, "do-image", tmp_path / "do.png")).size
        assert side == (EXAMPLE_SIDE, EXAMPLE_SIDE)  # downloadable, at the size of the picture on the canvas
        assert before is None or set(before) == set(rows)
        graph = pg.query_selector("#graph img")
        assert graph is not None and graph.get_attribute("src")


def _table(pg) -> list[list[str]]:
    cells = pg.eval_on_selector_all("#readback [role=row]",  # Gradio's table draws its rows as a grid of divs
                                    "rows => rows.map(r => Array.from(r.querySelectorAll('[role=gridcell]'))"
                                    ".map(c => c.textContent.trim()))")
    return [r for r in cells if len(r) >= 6]
