"""`inpaintzoo docs --write`: regenerate the generated pages (spec reference, zoo table) and, on request, the
pictures made from the code (the demo's screenshot, the HD strategies figure)."""
from __future__ import annotations

import argparse


def _add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("docs", help="regenerate docs/spec-reference.md and docs/zoo.md from the code")
    p.add_argument("--write", action="store_true", help="write the pages (default: print which would change)")
    p.add_argument("--demo-screenshot", action="store_true",
                   help=f"also retake {SCREENSHOT}, the README's picture of `inpaintzoo demo`, in headless Chromium")
    p.add_argument("--hd-figure", action="store_true",
                   help="also redraw docs/images/hd-strategies.png (the shipped models under each HD strategy)")


SCREENSHOT = "docs/images/demo.png"


def cmd_docs(a: argparse.Namespace) -> int:
    from ..docs_gen import DOCS, PAGES, write

    if a.demo_screenshot or a.hd_figure:
        if a.demo_screenshot:
            _screenshot(DOCS.parent / SCREENSHOT)
        if a.hd_figure:
            from ..docs_figures import HD_FIGURE, hd_strategies

            print(f"wrote {hd_strategies(DOCS.parent / HD_FIGURE)}")
        if not a.write:
            return 0
    if a.write:
        for p in write():
            print(f"wrote {p}")
        return 0
    stale = [n for n, fn in PAGES.items() if not (DOCS / n).is_file() or (DOCS / n).read_text() != fn()]
    print("stale: " + ", ".join(stale) if stale else "up to date")
    return 1 if stale else 0


def _screenshot(dest) -> None:
    """The demo driven by the same browser code as its test (inpaintzoo.demo.browser), so the picture cannot go stale."""
    from ..errors import InputError

    try:
        from ..demo import browser
        import gradio  # noqa: F401
        import playwright  # noqa: F401
    except ImportError as exc:
        raise InputError(f"--demo-screenshot: needs {exc.name}; `pip install -r requirements-dev.txt`") from None
    if browser.chromium() is None:
        raise InputError("--demo-screenshot: no Chromium found; `apt-get install chromium` (or set INPAINTZOO_CHROMIUM)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    print(f"wrote {browser.screenshot(dest)}")


COMMANDS = {"docs": (_add, cmd_docs)}
