"""`inpaintzoo demo` as a user meets it, timed in headless Chromium (the test's browser code, inpaintzoo.demo.browser):

- start-up: `inpaintzoo demo MODEL --port P` launched as a process, until the page shows the model ready;
- click → result: Inpaint pressed on the model's example image with a drawn stroke, until the result's status line;
  for causal models also Apply do() after moving a slider. Median of --repeats clicks after one warm-up click.

    python benchmarks/demo_speed.py [--models causal-nvae-pendulum ...] [--repeats 5]

Goals (issue 26): under 1 s click → result for causal-nvae-pendulum, under 10 s to a usable page."""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from _common import write

from inpaintzoo.demo import browser as B


def startup(model: str) -> tuple[float, float]:
    """Seconds from launching the command to the page shown (the server answers), and to the page showing `model`
    ready, with the browser already running."""
    from playwright.sync_api import sync_playwright

    port = B.free_port()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=B.chromium(), args=B.CHROMIUM_ARGS)
        pg = browser.new_page()
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "inpaintzoo.cli", "demo", model, "--port", str(port), "--device", "cpu"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        try:
            while not _listening(port):  # a socket, not the browser, polls: it would take the server's cores
                if proc.poll() is not None:
                    raise SystemExit(f"inpaintzoo demo {model} exited with {proc.returncode}")
                time.sleep(0.05)
            pg.goto(f"http://127.0.0.1:{port}/", wait_until="load")
            shown = time.perf_counter() - t0
            pg.wait_for_function(f"document.querySelector({B.STATUS!r}) && "
                                 f"document.querySelector({B.STATUS!r}).innerText.includes('ready')", timeout=120000)
            return shown, time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait(30)
            browser.close()


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def clicks(model: str, repeats: int) -> dict:
    """Median seconds click → result for Inpaint (and Apply do() for a causal model), in the browser."""
    out = {}
    with B.served([model], max_pixels=25_000_000) as url, B.page(url) as pg:
        pg.click("#example")
        B.wait_status(pg, "example image")
        B.draw_stroke(pg, [(0.4, 0.4), (0.6, 0.55)])
        out["inpaint_s"] = _median(pg, "#inpaint", "inpainted", repeats)
        if pg.is_visible("#do"):
            B.set_slider(pg, 0, float(pg.get_attribute("#concept-0 input[type=range]", "max")))
            out["do_s"] = _median(pg, "#do", "intervened", repeats)
        out["image"] = pg.inner_text(B.STATUS)
    return out


def _median(pg, button: str, text: str, repeats: int) -> float:
    busy = "Array.from(document.querySelectorAll('[data-testid=status-tracker]')).some(e => !e.classList.contains('hide'))"
    times = []
    for i in range(repeats + 1):  # the first click warms the model (first forward pass, allocator)
        t0 = time.perf_counter()
        pg.click(button)
        pg.wait_for_function(busy, timeout=10000, polling=5)  # the page shows the event running …
        pg.wait_for_function(f"!({busy})", timeout=120000, polling=5)  # … and then its result
        if i:
            times.append(time.perf_counter() - t0)
        assert text in pg.inner_text(B.STATUS), pg.inner_text(B.STATUS)
        B.wait_idle(pg)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["causal-nvae-pendulum", "nvae-pendulum", "core-shapes-tiny",
                                                    "medfe-tiny", "medfe-cae-tiny"])
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    from inpaintzoo import load

    rows = []
    for model in a.models:
        h, w = load(model, device="cpu").contract.image_size
        shown, ready = startup(model)
        row = {"model": model, "trained at": f"{h}×{w}", "page_s": shown, "ready_s": ready}
        row.update(clicks(model, a.repeats))
        row.pop("image")
        rows.append(row)
        print(row, flush=True)
    write("demo_speed", rows, ["model", "trained at", "page_s", "ready_s", "inpaint_s", "do_s"],
          notes="page_s / ready_s: from launching `inpaintzoo demo MODEL` until the page loads in headless Chromium (the "
                "browser already running) / until it shows the model ready. inpaint_s / do_s: median over "
                f"{a.repeats} clicks (after one warm-up) from the click to the status line reporting the result, on the "
                "model's example image (enlarged to 384² when the model is smaller) with one drawn stroke; do_s moves "
                "concept 0 to its maximum. The server and browser share this machine's cores. Where start-up goes "
                "(python -X importtime): importing Gradio ≈ 5 s before the page; then, for the first model, torch ≈ 1.7 s "
                "and timm ≈ 3 s (its layers import torchvision, which imports torch._dynamo). "
                f"Command: python benchmarks/demo_speed.py --repeats {a.repeats}")


if __name__ == "__main__":
    main()
