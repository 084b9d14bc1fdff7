"""The demo page (Gradio Blocks). The handlers are plain functions of plain values, so they are tested without a
browser too; every one of them turns an error into one line in the page (never a traceback), and the server
keeps running.

    from inpaintzoo.demo.app import serve
    serve(["causal-nvae-pendulum"])      # what `inpaintzoo demo` and a pushed Space's app.py run
"""
from __future__ import annotations

import logging
import math
import threading
import traceback
from typing import Any

import numpy as np

from ..errors import InpaintzooError
from ..images import MAX_PIXELS

log = logging.getLogger("inpaintzoo")
MAX_CONCEPTS = 8
EXAMPLE_SIDE = 384  # a 32² example enlarged to this: the brush (≈ 1/20 of the canvas) then marks a part, not all
PRESETS = ["none", "center", "boxes", "thin", "medium", "thick"]


class Models:
    """Models by name, loaded on first use and kept (one lock: two requests never load the same model twice)."""

    def __init__(self, sources: list[str] | None = None, device: str = "auto", offer_zoo: bool = True):
        self.sources, self.device, self.offer_zoo = list(sources or []), device, offer_zoo
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()

    def choices(self) -> list[str]:
        from .. import list_models

        zoo = list_models(pretrained=True) if self.offer_zoo else []
        return self.sources + [n for n in zoo if n not in self.sources]

    def get(self, name: str) -> Any:
        if not name:
            raise InpaintzooError("choose a model first")
        with self._lock:
            if name not in self._loaded:
                import warnings

                from .. import load

                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    model = load(name, device=self.device)
                model.demo_notes = [str(w.message) for w in caught]
                self._loaded[name] = model
            return self._loaded[name]


def safe(outputs: int):
    """A handler (whose first output is the status line) whose failure is one line in the page: the user's mistakes
    as said, anything else named; the other outputs keep what they show."""

    def wrap(fn):
        def wrapped(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except InpaintzooError as exc:
                message = str(exc).splitlines()[0]
            except Exception as exc:  # never a traceback in the page, never a dead server
                log.warning("demo: %s", traceback.format_exc(limit=3))
                message = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'failed'}"
            import gradio as gr

            return (f"error: {message}",) + tuple(gr.update() for _ in range(outputs - 1))

        wrapped.__name__ = fn.__name__
        return wrapped

    return wrap


def editor_parts(value: Any) -> tuple[Any, np.ndarray]:
    """(RGB or RGBA PIL image, H×W uint8 mask 255 = painted) from the ImageEditor's value."""
    from PIL import Image

    if not isinstance(value, dict) or value.get("background") is None:
        raise InpaintzooError("no picture on the canvas: upload an image (a file the browser cannot read leaves the canvas "
                              "empty) or press 'example image'")
    bg = value["background"]
    img = bg if isinstance(bg, Image.Image) else Image.fromarray(np.asarray(bg))
    mask = np.zeros((img.height, img.width), np.uint8)
    for layer in value.get("layers") or []:
        arr = np.asarray(layer if not isinstance(layer, Image.Image) else layer.convert("RGBA"))
        if arr.ndim == 3 and arr.shape[-1] == 4 and arr.shape[:2] == mask.shape:
            mask |= (arr[..., 3] > 0).astype(np.uint8) * 255
    if img.mode == "RGBA" and img.getchannel("A").getextrema() == (255, 255):
        img = img.convert("RGB")  # the editor's canvas is RGBA; an opaque picture is RGB
    return img, mask


def preset_mask(preset: str, size: tuple[int, int], seed: int = 0) -> np.ndarray:
    import torch

    from ..commands.masks import mask_generator

    w, h = size
    m = mask_generator(preset, max(w, h))(1, h, w, torch.Generator().manual_seed(seed))[0, 0]
    return (m.numpy() * 255).astype(np.uint8)


# Small models' pictures (64², 96²) shown at the panel's size, not as thumbnails; the file downloaded is the model's own.
CSS = "#result img, #do-image img, #mask-used img { width: 100%; height: 100%; object-fit: contain; }"


def serve(sources: list[str] | None = None, max_pixels: int = MAX_PIXELS, device: str = "auto", offer_zoo: bool = True,
          **launch: Any) -> Any:
    """Build the page and serve it (Gradio 6 takes the page's CSS at launch): what `inpaintzoo demo` and a pushed
    Space's app.py run. `launch` goes to Gradio's launch() (server_name, server_port, share, …)."""
    app = build_app(sources, max_pixels, device, offer_zoo)  # the page first; the model loads when it asks (visibly)
    app.launch(css=CSS, **launch)
    return app


def build_app(models: Models | list[str] | None = None, max_pixels: int = MAX_PIXELS, device: str = "auto",
              offer_zoo: bool = True) -> Any:
    """The page: `models` (a Models, or names for one) first in the model list, then (offer_zoo) the zoo's models
    with weights."""
    import gradio as gr
    from PIL import Image

    if not isinstance(models, Models):
        models = Models(models, device, offer_zoo)

    def load_model(name: str):
        """A generator: 'loading…' at once, then the model's panel (sliders for a causal one)."""
        yield ("loading " + name + " …",) + tuple(gr.update() for _ in range(MAX_CONCEPTS + 2))
        try:
            model = models.get(name)
        except InpaintzooError as exc:
            yield (f"error: {str(exc).splitlines()[0]}",) + tuple(gr.update(visible=False) for _ in range(MAX_CONCEPTS + 2))
            return
        ranges = model.prior.concept_ranges() if model.prior.supports_interventions else {}
        names = list(ranges)[:MAX_CONCEPTS]
        sliders = [_slider(n, *ranges[n]) if i < len(names) else gr.update(visible=False)
                   for i, n in enumerate(names + [""] * (MAX_CONCEPTS - len(names)))]
        h, w = model.contract.image_size
        note = " ".join(model.demo_notes)
        status = (f"{name} ready on {next(model.parameters()).device}: trained at {h}×{w}"
                  + (f", concepts {', '.join(names)}" if names else "") + (f". Note: {note}" if note else ""))
        yield (status, gr.update(visible=bool(names)), gr.update(visible=bool(names)), *sliders)

    def check_size(img: Any) -> None:
        if img.width * img.height > max_pixels:
            raise InpaintzooError(f"the image is {img.width}×{img.height} = {img.width * img.height:,} pixels, more than "
                                  f"this demo's --max-pixels {max_pixels:,}; use a smaller one")

    @safe(3)
    def inpaint(name: str, value: Any, preset: str):
        img, mask = editor_parts(value)
        check_size(img)
        if preset and preset != "none":
            mask = np.maximum(mask, preset_mask(preset, img.size))
        if not mask.any():
            raise InpaintzooError("draw on the image (or choose a mask preset) to mark what to fill")
        model = models.get(name)
        out = model.inpaint(img, Image.fromarray(mask))
        return "inpainted: pixels outside the mask are unchanged", out, Image.fromarray(mask)

    @safe(2)
    def example(name: str):
        from ..commands.example import example_image

        model = models.get(name)
        h, w = model.contract.image_size
        enlarge = h == w < EXAMPLE_SIDE  # example_image resizes to a square
        img, _ = example_image(model.config or {"spec": model.spec.to_dict()}, size=EXAMPLE_SIDE if enlarge else None)
        return (f"an example image from the model's own data set" + (f", enlarged from {h}² to draw on" if enlarge else ""),
                {"background": img, "layers": [], "composite": img})

    @safe(2)
    def open_upload(file: Any):
        """A photo as a file: its header checked against --max-pixels before decoding, EXIF orientation applied,
        an unreadable file said in one line (the editor's own drop zone cannot tell the server)."""
        from pathlib import Path

        from ..images import header, open_image

        path = Path(getattr(file, "name", file))
        head = header(path, max_pixels)
        img = open_image(path, max_pixels)
        note = " ".join(head.notes)
        return (f"opened {path.name} ({img.width}×{img.height})" + (f"; {note}" if note else ""),
                {"background": img, "layers": [], "composite": img})

    @safe(1 + MAX_CONCEPTS + 1)
    def read_concepts(name: str, value: Any):
        """The image's concepts as the model reads them: the sliders start there (moving one is a do())."""
        model = models.get(name)
        if not model.prior.supports_interventions or not isinstance(value, dict) or value.get("background") is None:
            return (gr.update(),) + tuple(gr.update() for _ in range(MAX_CONCEPTS)) + ({},)
        img, _ = editor_parts(value)
        read = _read_back(model, img)
        ranges = model.prior.concept_ranges()
        names = list(ranges)[:MAX_CONCEPTS]
        shown = {n: _on_grid(read[n], *ranges[n]) for n in names}  # a slider holds its range and grid only
        updates = [gr.update(value=shown[n]) if i < len(names) else gr.update()
                   for i, n in enumerate(names + [""] * (MAX_CONCEPTS - len(names)))]
        return ("the sliders show the concepts the model reads from your image; move one and press Apply do()",
                *updates, shown)

    @safe(4)
    def intervene(name: str, value: Any, factual: dict, *slider_values: float):
        from .graph import draw_graph

        model = models.get(name)
        if not model.prior.supports_interventions:
            raise InpaintzooError(f"{name} has no named concepts to intervene on")
        img, _ = editor_parts(value)  # a concept is global: do() regenerates the whole picture, the drawn mask is for Inpaint
        check_size(img)
        ranges = model.prior.concept_ranges()
        names = list(ranges)[:MAX_CONCEPTS]
        base = factual or _read_back(model, img)
        step = {n: (hi - lo) / 200 for n, (lo, hi) in ranges.items()}
        values = {n: float(v) for n, v in zip(names, slider_values) if abs(float(v) - base.get(n, float(v))) > step[n]}
        out = model.intervene(img, values)
        read = _read_back(model, out)
        descendants = model.prior.concept_descendants()
        moved = {d for c in values for d in descendants.get(c, [])} - set(values)
        rows = [[n, f"{base[n]:.4g}", f"{values[n]:.4g}" if n in values else "—", f"{read[n]:.4g}",
                 f"{read[n] - base[n]:+.4g}", "do()" if n in values else "descendant: may move" if n in moved else "must stay"]
                for n in names]
        graph = draw_graph(names, model.prior.concept_edges(), set(values), moved)
        what = ", ".join(f"{k} = {v:.4g}" for k, v in values.items()) or "nothing (the image regenerated)"
        return f"intervened: do({what})", out, rows, graph

    with gr.Blocks(title="inpaintzoo demo") as app:
        gr.Markdown("# inpaintzoo\nDraw over what to remove (the brush's size is in its menu; the eraser undoes), "
                    "or choose a mask preset, then **Inpaint**. Pixels outside the mask come back unchanged.")
        with gr.Row():
            model_box = gr.Dropdown(models.choices(), value=(models.choices() or [None])[0], label="model",
                                    elem_id="model", allow_custom_value=True)
            status = gr.Markdown("", elem_id="status")
        with gr.Row():
            editor = gr.ImageEditor(label="your image: draw the mask on it", type="pil", image_mode="RGBA",
                                    brush=gr.Brush(default_size="auto", colors=["#ff2d55"], color_mode="fixed"),
                                    eraser=gr.Eraser(default_size="auto"), layers=False, elem_id="editor",
                                    transforms=(), canvas_size=(512, 512))
            with gr.Column():
                result = gr.Image(label="result", type="pil", format="png", buttons=["download"], elem_id="result",
                                  interactive=False, height=320)
                used = gr.Image(label="mask used (white = filled)", type="pil", format="png", buttons=["download"],
                                elem_id="mask-used", interactive=False, height=160)
        with gr.Row():
            preset = gr.Dropdown(PRESETS, value="none", label="mask preset (added to what you draw)", elem_id="preset")
            upload_btn = gr.UploadButton("open a photo", file_types=["image"], elem_id="upload")
            example_btn = gr.Button("example image", elem_id="example")
            run_btn = gr.Button("Inpaint", variant="primary", elem_id="inpaint")
        with gr.Column(visible=False) as causal:
            gr.Markdown("## do(): set a concept, its descendants follow, the rest stays")
            sliders = [gr.Slider(visible=False, label=f"concept {i}", elem_id=f"concept-{i}") for i in range(MAX_CONCEPTS)]
            do_btn = gr.Button("Apply do()", elem_id="do")
            with gr.Row():
                do_img = gr.Image(label="do() image", type="pil", format="png", buttons=["download"], elem_id="do-image",
                                  interactive=False, height=320)
                graph = gr.Image(label="the learned graph", type="pil", elem_id="graph", interactive=False)
            table = gr.Dataframe(headers=["concept", "read from your image", "set to", "read back after", "change", "role"],
                                 elem_id="readback", interactive=False)
        factual = gr.State({})
        model_box.change(load_model, model_box, [status, causal, do_btn, *sliders])
        app.load(load_model, model_box, [status, causal, do_btn, *sliders])
        run_btn.click(inpaint, [model_box, editor, preset], [status, result, used])
        example_btn.click(example, model_box, [status, editor])
        upload_btn.upload(open_upload, upload_btn, [status, editor])
        # a new picture on the canvas (dropped on it, or set by the two above) sets the sliders to what the model reads
        editor.upload(read_concepts, [model_box, editor], [status, *sliders, factual])
        do_btn.click(intervene, [model_box, editor, factual, *sliders], [status, do_img, table, graph])
    return app


def slider_grid(lo: float, hi: float) -> tuple[float, float, float]:
    """(min, max, step) with a power-of-ten step ≤ 1/100 of the range and the ends on its grid: the browser's number
    box accepts only min + k·step, so a value a user types (−30, 12.5) must lie on that grid to count."""
    step = 10.0 ** math.floor(math.log10(max(hi - lo, 1e-12) / 100))
    return math.floor(lo / step) * step, math.ceil(hi / step) * step, step


def _on_grid(value: float, lo: float, hi: float) -> float:
    lo, hi, step = slider_grid(lo, hi)
    return round(min(max(value, lo), hi) / step) * step


def _slider(name: str, lo: float, hi: float) -> Any:
    import gradio as gr

    lo, hi, step = slider_grid(lo, hi)
    return gr.update(visible=True, label=name, minimum=lo, maximum=hi, step=step, value=round((lo + hi) / 2 / step) * step)


def _read_back(model: Any, image: Any) -> dict[str, float]:
    import torch

    arr = np.asarray(image.convert("RGB") if hasattr(image, "convert") else image, dtype=np.float32) / 255.0
    t = torch.from_numpy(arr).permute(2, 0, 1)[None]
    if tuple(t.shape[-2:]) != tuple(model.contract.image_size):
        t = torch.nn.functional.interpolate(t, size=tuple(model.contract.image_size), mode="bilinear", antialias=True)
    with torch.inference_mode():
        read = model.prior.read_concepts(model, t.to(next(model.parameters()).device))
    return {k: float(v[0]) for k, v in read.items()}
