"""Tables for people and for scripts: names and numbers are never cut.

On a terminal: a rich table whose first column (the name a user copies) never wraps and whose other cells fold
instead of ending in "…". Piped or redirected: plain text, one row per line, columns aligned at their full width,
so `grep`, `cut` and `head` see whole values (`--json` where a command has it gives the fields).
"""
from __future__ import annotations

import sys
from collections.abc import Sequence


def show(columns: Sequence[str], rows: Sequence[Sequence[str]], title: str | None = None, caption: str | None = None) -> None:
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        t = Table(title=title, caption=caption, caption_justify="left")
        for i, col in enumerate(columns):
            t.add_column(col, no_wrap=i == 0, overflow="fold")
        for row in rows:
            t.add_row(*(escape(str(v)) for v in row))
        Console().print(t)
        return
    cells = [list(columns)] + [[str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    if title:
        print(title)
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
    if caption:
        print(caption)
