"""The demo's handlers without a browser (tests/test_demo.py drives the page in Chromium): the same functions the
page calls, through the Blocks that `inpaintzoo demo` serves; and the command's bad input."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("gradio")
from inpaintzoo.demo import app as A  # noqa: E402
from inpaintzoo.errors import InpaintzooError  # noqa: E402


@pytest.mark.parametrize("span, grid", [((-44, 44), (-44, 44, 0.1)), ((3, 10), (3, 10, 0.01)),
                                        ((0.1234, 0.987), (0.123, 0.987, 0.001)), ((-1.054, 2.0), (-1.06, 2.0, 0.01))])
def test_slider_grid_is_a_power_of_ten_with_its_ends_on_it(span, grid):
    lo, hi, step = A.slider_grid(*span)
    assert (lo, hi, step) == pytest.approx(grid)
    assert lo <= span[0] and hi >= span[1] and step <= (span[1] - span[0]) / 100 < 10 * step


def test_editor_parts_reads_the_strokes_alpha_as_the_mask():
    bg = Image.new("RGBA", (20, 10), (10, 20, 30, 255))
    layer = np.zeros((10, 20, 4), np.uint8)
    layer[2:5, 3:9] = (255, 45, 85, 255)
    img, mask = A.editor_parts({"background": bg, "layers": [Image.fromarray(layer)], "composite": None})
    assert img.mode == "RGB" and img.size == (20, 10)  # an opaque canvas is an RGB picture
    assert mask.shape == (10, 20) and mask.sum() == 3 * 6 * 255 and mask[2:5, 3:9].all()
    with pytest.raises(InpaintzooError, match="no picture on the canvas"):
        A.editor_parts({"background": None, "layers": []})


def test_a_failing_handler_is_one_line_and_keeps_the_other_outputs():
    @A.safe(3)
    def mine():
        raise InpaintzooError("the image is too big\nsecond line")

    @A.safe(2)
    def bug():
        raise ValueError("bad thing happened\ndetails")

    status, *rest = mine()
    assert status == "error: the image is too big" and len(rest) == 2
    assert bug()[0] == "error: ValueError: bad thing happened"


def _handler(app, name: str):
    return next(f.fn for f in app.fns.values() if f.name == name)


def test_inpaint_and_intervene_handlers_on_the_shipped_causal_model():
    app = A.build_app(["causal-nvae-pendulum"], max_pixels=200 * 200, device="cpu", offer_zoo=False)
    photo = Image.fromarray((np.random.default_rng(0).random((48, 64, 3)) * 255).astype(np.uint8))
    stroke = np.zeros((48, 64, 4), np.uint8)
    stroke[10:30, 20:40, 3] = 255
    value = {"background": photo.convert("RGBA"), "layers": [Image.fromarray(stroke)], "composite": None}
    status, out, used = _handler(app, "inpaint")("causal-nvae-pendulum", value, "none")
    src, res, hole = np.asarray(photo), np.asarray(out), np.asarray(used) > 0
    assert status.startswith("inpainted") and res.shape == src.shape and hole.sum() == 20 * 20
    assert np.array_equal(res[~hole], src[~hole]) and (res[hole] != src[hole]).any(axis=-1).mean() > 0.9
    # above --max-pixels: one line, nothing else changed
    big = {"background": Image.new("RGBA", (300, 300), (0, 0, 0, 255)), "layers": [], "composite": None}
    status, *rest = _handler(app, "inpaint")("causal-nvae-pendulum", big, "center")
    assert status.startswith("error:") and "this demo's limit of 40,000 pixels" in status and all(isinstance(r, dict) for r in rest)
    # do(pendulum = its maximum): the set concept moves most, and the table says who may move
    model = A.Models(["causal-nvae-pendulum"], "cpu").get("causal-nvae-pendulum")
    names = list(model.prior.concept_ranges())
    factual = A._read_back(model, photo)
    sliders = [factual[n] for n in names]
    sliders[names.index("pendulum")] = model.prior.concept_ranges()["pendulum"][1]
    status, image, rows, graph = _handler(app, "intervene")("causal-nvae-pendulum", value, factual, *sliders)
    table = {r[0]: r for r in rows}
    assert status.startswith("intervened: do(pendulum = ") and image.size == photo.size and graph is not None
    assert table["pendulum"][5] == "do()" and table["light"][5] == "must stay"
    assert abs(float(table["pendulum"][4])) > abs(float(table["light"][4]))


@pytest.mark.parametrize("args, message", [
    (["--port", "70000"], "--port 70000: must be at most 65535"),
    (["--device", "cuda:3"], "--device cuda:3: no CUDA device is available here"),
    (["--max-pixels", "0"], "--max-pixels"),
])
def test_demo_command_bad_options_are_one_line(args, message):
    r = subprocess.run([sys.executable, "-m", "inpaintzoo.cli", "demo", *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_the_page_speaks_its_own_words_and_opens_on_a_model_that_runs_here():
    """No server-side temporary path and no command-line option in what the page shows; the model list starts with
    the models that load offline (shipped real weights before smoke tests) and holds only inpainting models."""
    assert A.page_words("/tmp/gradio/3f2a/IMG_0042.jpg: unreadable image (cannot identify image file); fix or remove "
                        "it, or pass --skip-bad") == "IMG_0042.jpg: unreadable image (cannot identify image file)"
    assert A.page_words("/tmp/gradio/ab/big.png: 300×300 = 90,000 pixels, more than --max-pixels 40,000") == \
        "big.png: 300×300 = 90,000 pixels, more than this demo's limit of 40,000 pixels"
    from inpaintzoo import zoo

    choices = A.Models(None, "cpu").choices()
    first = zoo.get(choices[0])
    assert first.weights_status() in ("shipped", "cached") and "inpaint" in first.task
    assert all("inpaint" in zoo.get(n).task for n in choices)


def test_the_result_is_computed_from_the_users_file_not_the_editors_copy(tmp_path):
    """The editor hands back its own encoding of the canvas; the photo as decoded from the user's file is kept and
    used, so outside the mask the result is the file's pixels exactly; a hd strategy is said in the status."""
    app = A.build_app(["core-shapes-tiny"], device="cpu", offer_zoo=False)
    photo = Image.fromarray((np.random.default_rng(1).random((40, 56, 3)) * 255).astype(np.uint8))
    photo.save(tmp_path / "p.png")
    status, value, original = _handler(app, "open_upload")(str(tmp_path / "p.png"))
    assert status.startswith("opened p.png") and np.array_equal(np.asarray(original), np.asarray(photo))
    lossy = Image.fromarray(np.clip(np.asarray(photo, int) + 3, 0, 255).astype(np.uint8)).convert("RGBA")  # the editor's copy
    stroke = np.zeros((40, 56, 4), np.uint8)
    stroke[10:20, 10:30, 3] = 255
    canvas = {"background": lossy, "layers": [Image.fromarray(stroke)], "composite": None}
    status, out, used = _handler(app, "inpaint")("core-shapes-tiny", canvas, "none", "crop", original)
    hole = np.asarray(used) > 0
    assert status.startswith("inpainted (crop strategy, 56×40)")
    assert np.array_equal(np.asarray(out)[~hole], np.asarray(photo)[~hole])
    other = Image.fromarray((np.random.default_rng(2).random((40, 56, 3)) * 255).astype(np.uint8))
    dropped = {"background": other.convert("RGBA"), "layers": [Image.fromarray(stroke)], "composite": None}
    _, out2, _ = _handler(app, "inpaint")("core-shapes-tiny", dropped, "none", "auto", original)  # dropped on the canvas since
    assert np.array_equal(np.asarray(out2)[~hole], np.asarray(other)[~hole])
