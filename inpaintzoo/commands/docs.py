"""`inpaintzoo docs --write`: regenerate the generated pages (spec reference, zoo table)."""
from __future__ import annotations

import argparse


def _add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("docs", help="regenerate docs/spec-reference.md and docs/zoo.md from the code")
    p.add_argument("--write", action="store_true", help="write the pages (default: print which would change)")


def cmd_docs(a: argparse.Namespace) -> int:
    from ..docs_gen import DOCS, PAGES, write

    if a.write:
        for p in write():
            print(f"wrote {p}")
        return 0
    stale = [n for n, fn in PAGES.items() if not (DOCS / n).is_file() or (DOCS / n).read_text() != fn()]
    print("stale: " + ", ".join(stale) if stale else "up to date")
    return 1 if stale else 0


COMMANDS = {"docs": (_add, cmd_docs)}
