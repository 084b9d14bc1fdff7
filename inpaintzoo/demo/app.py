"""The demo page (Gradio Blocks): its layout and wiring. What each button does lives in handlers.py, as plain
methods tested without a browser too.

    from inpaintzoo.demo.app import serve
    serve(["causal-nvae-pendulum"])      # what `inpaintzoo demo` and a pushed Space's app.py run
"""
from __future__ import annotations

from typing import Any

from ..images import MAX_PIXELS
from .handlers import (EXAMPLE_SIDE, MAX_CONCEPTS, PRESETS, STRATEGIES, Handlers, Models, _on_grid,  # noqa: F401
                       _read_back, editor_parts, page_words, preset_mask, safe, slider_grid)


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
    with weights, those that run here at once first."""
    import gradio as gr

    if not isinstance(models, Models):
        models = Models(models, device, offer_zoo)
    h = Handlers(models, max_pixels)
    with gr.Blocks(title="inpaintzoo demo") as app:
        gr.Markdown("# inpaintzoo\nDraw over what to remove (the brush's size is in its menu; the eraser undoes), "
                    "or choose a mask preset, then **Inpaint**. Pixels outside the mask come back unchanged.")
        with gr.Row():
            model_box = gr.Dropdown(models.choices(), value=(models.choices() or [None])[0], label="model",
                                    elem_id="model", allow_custom_value=True)
            status = gr.Markdown("", elem_id="status")
        with gr.Row():
            editor = gr.ImageEditor(label="your image: draw the mask on it", type="pil", image_mode="RGBA", format="png",
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
            strategy = gr.Dropdown(STRATEGIES, value="auto", elem_id="strategy",
                                   label="large photos: crop around the hole, resize, or run whole (auto: crop above "
                                         "the model's trigger)")
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
        factual, original = gr.State({}), gr.State(None)
        model_box.change(h.load_model, model_box, [status, causal, do_btn, *sliders])
        app.load(h.load_model, model_box, [status, causal, do_btn, *sliders])
        run_btn.click(h.inpaint, [model_box, editor, preset, strategy, original], [status, result, used])
        example_btn.click(h.example, model_box, [status, editor, original])
        upload_btn.upload(h.open_upload, upload_btn, [status, editor, original])
        # a new picture on the canvas (dropped on it, or set by the two above) sets the sliders to what the model reads
        editor.upload(h.read_concepts, [model_box, editor], [status, *sliders, factual])
        do_btn.click(h.intervene, [model_box, editor, factual, *sliders], [status, do_img, table, graph])
    return app



