"""The demo driven by a real browser (headless Chromium through Playwright): what its test does and what the
README's screenshot shows, so the picture cannot go stale (`inpaintzoo docs --demo-screenshot`).

Needs `pip install playwright` and a Chromium (Debian's `chromium` package: /usr/bin/chromium; Playwright's own
browser download is not used)."""
from __future__ import annotations

import os
import shutil
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def chromium() -> str | None:
    for name in (os.environ.get("INPAINTZOO_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        path = name and shutil.which(name)
        if path:
            return path
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(models: list[str], max_pixels: int = 25_000_000) -> Iterator[str]:
    """The demo on a free loopback port, in this process; its URL."""
    from .app import serve

    port = free_port()
    app = serve(models, max_pixels, "cpu", server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                quiet=True, show_error=False)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()


@contextmanager
def page(url: str, viewport: tuple[int, int] = (1280, 1400)) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            pg = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]}, accept_downloads=True)
            pg.goto(url)
            wait_status(pg, "ready")
            yield pg
        finally:
            browser.close()


STATUS = "#status [data-testid=markdown]"  # the line itself, without Gradio's progress timer


def wait_status(pg: Any, text: str, timeout: float = 120.0) -> str:
    """Wait until the status line contains `text`; the line. A timeout says what the line said instead."""
    try:
        pg.wait_for_function(f"document.querySelector({STATUS!r}) && "
                             f"document.querySelector({STATUS!r}).innerText.includes({text!r})", timeout=timeout * 1000)
    except Exception:
        raise AssertionError(f"waited {timeout:g} s for {text!r} in the status line; it says "
                             f"{pg.inner_text(STATUS) if pg.query_selector(STATUS) else None!r}") from None
    wait_idle(pg)
    return pg.inner_text(STATUS)


def wait_idle(pg: Any, timeout: float = 60.0) -> None:
    """Until no event is queued or running (every Gradio status tracker hidden), twice 0.3 s apart: the next click
    then acts on the page as the user sees it (a new picture runs read_concepts after the click that set it)."""
    idle = "Array.from(document.querySelectorAll('[data-testid=status-tracker]')).every(e => e.classList.contains('hide'))"
    for _ in range(2):
        pg.wait_for_function(idle, timeout=timeout * 1000)
        time.sleep(0.3)


def upload(pg: Any, image: Path) -> None:
    pg.set_input_files("#editor input[type=file]", str(image))
    pg.wait_for_selector("#editor canvas", timeout=30000)
    time.sleep(1.0)


def draw_stroke(pg: Any, points: list[tuple[float, float]]) -> None:
    """A brush stroke through `points`, fractions (x, y) of the canvas' box."""
    pg.click("#editor button[aria-label='Brush']")
    box = pg.query_selector_all("#editor canvas")[-1].bounding_box()
    xs = [box["x"] + fx * box["width"] for fx, _ in points]
    ys = [box["y"] + fy * box["height"] for _, fy in points]
    pg.mouse.move(xs[0], ys[0])
    pg.mouse.down()
    for x, y in zip(xs[1:], ys[1:]):
        pg.mouse.move(x, y, steps=12)
    pg.mouse.up()
    time.sleep(0.5)


def set_slider(pg: Any, index: int, value: float, tries: int = 10) -> None:
    """Type `value` into concept slider `index`'s number box and press Enter, as a user does; again until the page
    holds it (a keystroke that lands while Gradio is still applying the server's update is overwritten)."""
    box = pg.query_selector(f"#concept-{index} input[type=number]")
    for _ in range(tries):
        box.fill(f"{value:g}")
        box.press("Enter")
        time.sleep(0.3)
        if abs(float(box.input_value()) - value) < 1e-9:
            return
    raise AssertionError(f"concept slider {index} did not take {value:g}")


def download(pg: Any, elem: str, dest: Path) -> Path:
    with pg.expect_download(timeout=30000) as info:
        pg.click(f"#{elem} a[download], #{elem} button[aria-label='Download'], #{elem} [title='Download']")
    info.value.save_as(str(dest))
    return dest


def screenshot(dest: Path) -> Path:
    """The README's picture: the shipped causal model, a photo-like example with a stroke inpainted, a do()."""
    with served(["causal-nvae-pendulum"]) as url, page(url) as pg:
        pg.click("#example")
        wait_status(pg, "sliders show")
        draw_stroke(pg, [(0.42, 0.35), (0.58, 0.5)])
        pg.click("#inpaint")
        wait_status(pg, "inpainted")
        set_slider(pg, 0, 30)
        pg.click("#do")
        wait_status(pg, "intervened")
        pg.screenshot(path=str(dest), full_page=True)
    return dest
