"""What the demo page does, as plain methods of plain values (tested without a browser too). Each turns an error
into one line in the page, in the page's words (never a traceback, never a server path), and the server keeps
running. app.py lays the page out and wires these to it."""
from __future__ import annotations

import logging
import math
import re
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
STRATEGIES = ["auto", "crop", "resize", "original"]


class Models:
    """Models by name, loaded on first use and kept (one lock: two requests never load the same model twice)."""

    def __init__(self, sources: list[str] | None = None, device: str = "auto", offer_zoo: bool = True):
        self.sources, self.device, self.offer_zoo = list(sources or []), device, offer_zoo
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()

    def choices(self) -> list[str]:
        """The given sources, then the zoo's inpainting models with weights, those that run here at once first
        (converted or shipped, real weights before smoke tests), so the page opens on one that loads offline."""
        from ..zoo import list_zoo

        def ready(e: Any) -> int:
            status = e.weights_status()
            return 0 if status == "cached" else 1 if status == "shipped" else 2 if status.startswith("shipped") else 3

        zoo = [e for e in list_zoo(pretrained=True) if "inpaint" in e.task] if self.offer_zoo else []
        return self.sources + [e.name for e in sorted(zoo, key=lambda e: (ready(e), e.name)) if e.name not in self.sources]

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
                message = page_words(str(exc).splitlines()[0])
            except Exception as exc:  # never a traceback in the page, never a dead server
                log.warning("demo: %s", traceback.format_exc(limit=3))
                message = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'failed'}"
            import gradio as gr

            return (f"error: {message}",) + tuple(gr.update() for _ in range(outputs - 1))

        wrapped.__name__ = fn.__name__
        return wrapped

    return wrap


def page_words(message: str) -> str:
    """A message for the page, not the shell: no server-side paths (an upload's temporary folder: its file name
    stays) and no command-line options the page has no box for."""
    message = re.sub(r"(?:/[^/\s:;,()]+)+/([^/\s:;,()]+)", r"\1", message)
    message = re.sub(r"[;,]? ?(?:fix or remove it, )?or pass --skip-bad", "", message)
    return re.sub(r"(?:than |larger than )?--max-pixels ([\d,]+)", r"than this demo's limit of \1 pixels", message)


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


class Handlers:
    """The page's actions. Each method's first output is the status line; `original` is the picture as the user's
    file decoded it, kept server-side, because the editor hands back its own re-encoded copy of the canvas."""

    def __init__(self, models: Models, max_pixels: int = MAX_PIXELS):
        self.models, self.max_pixels = models, max_pixels

    def load_model(self, name: str):
        """A generator: 'loading…' at once, then the model's panel (sliders for a causal one)."""
        import gradio as gr

        yield ("loading " + name + " …",) + tuple(gr.update() for _ in range(MAX_CONCEPTS + 2))
        try:
            model = self.models.get(name)
        except InpaintzooError as exc:
            yield (f"error: {page_words(str(exc).splitlines()[0])}",) + tuple(gr.update(visible=False)
                                                                              for _ in range(MAX_CONCEPTS + 2))
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

    def check_size(self, img: Any) -> None:
        if img.width * img.height > self.max_pixels:
            raise InpaintzooError(f"the image is {img.width}×{img.height} = {img.width * img.height:,} pixels, more than "
                                  f"this demo's limit of {self.max_pixels:,} pixels; use a smaller one")

    def picture(self, value: Any, original: Any) -> tuple[Any, np.ndarray]:
        """The canvas' picture and mask; the picture as the file decoded it when the canvas still shows that file
        (same size, and within a lossy re-encoding of it: a picture dropped on the canvas since is not)."""
        img, mask = editor_parts(value)
        if original is not None and original.size == img.size:
            a = np.asarray(original.convert("RGB"), np.int16)
            b = np.asarray(img.convert("RGB"), np.int16)
            if float(np.abs(a - b).mean()) < 8.0:
                img = original
        return img, mask

    @safe(3)
    def inpaint(self, name: str, value: Any, preset: str, strategy: str = "auto", original: Any = None):
        img, mask = self.picture(value, original)
        self.check_size(img)
        if preset and preset != "none":
            mask = np.maximum(mask, preset_mask(preset, img.size))
        if not mask.any():
            raise InpaintzooError("draw on the image (or choose a mask preset) to mark what to fill")
        from PIL import Image

        from ..hd import HDOptions

        model = self.models.get(name)
        strategy = strategy if strategy in STRATEGIES else "auto"
        used = HDOptions(strategy, crop_trigger=model.crop_trigger()).resolve(img.height, img.width)
        out = model.inpaint(img, Image.fromarray(mask), hd_strategy=strategy)
        return (f"inpainted ({used} strategy, {img.width}×{img.height}): pixels outside the mask are unchanged",
                out, Image.fromarray(mask))

    @safe(3)
    def example(self, name: str):
        from ..commands.example import example_image

        model = self.models.get(name)
        h, w = model.contract.image_size
        enlarge = h == w < EXAMPLE_SIDE  # example_image resizes to a square
        img, _ = example_image(model.config or {"spec": model.spec.to_dict()}, size=EXAMPLE_SIDE if enlarge else None)
        return ("an example image from the model's own data set" + (f", enlarged from {h}² to draw on" if enlarge else ""),
                {"background": img, "layers": [], "composite": img}, img)

    @safe(3)
    def open_upload(self, file: Any):
        """A photo as a file: its header checked against the pixel limit before decoding, EXIF orientation applied,
        an unreadable file said in one line (the editor's own drop zone cannot tell the server). The decoded picture
        is also kept as the original the result is computed from."""
        from pathlib import Path

        from ..images import header, open_image

        path = Path(getattr(file, "name", file))
        head = header(path, self.max_pixels)
        img = open_image(path, self.max_pixels)
        note = " ".join(head.notes)
        return (f"opened {path.name} ({img.width}×{img.height})" + (f"; {note}" if note else ""),
                {"background": img, "layers": [], "composite": img}, img)

    @safe(1 + MAX_CONCEPTS + 1)
    def read_concepts(self, name: str, value: Any):
        """The image's concepts as the model reads them: the sliders start there (moving one is a do())."""
        import gradio as gr

        model = self.models.get(name)
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
    def intervene(self, name: str, value: Any, factual: dict, *slider_values: float):
        from .graph import draw_graph

        model = self.models.get(name)
        if not model.prior.supports_interventions:
            raise InpaintzooError(f"{name} has no named concepts to intervene on")
        img, _ = editor_parts(value)  # a concept is global: do() regenerates the whole picture, the drawn mask is for Inpaint
        self.check_size(img)
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
