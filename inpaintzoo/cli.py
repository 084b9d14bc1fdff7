"""The `inpaintzoo` command. User mistakes print one `error:` line each and exit with status 2."""
from __future__ import annotations

import argparse
import errno
import json
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from .errors import InpaintzooError

out = Console()
err = Console(stderr=True)
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one `error:` line (the usage is one `--help` away)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"error: {self.prog}: {message} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(2)


def command(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    COMMANDS[fn.__name__.removeprefix("cmd_").replace("_", "-")] = fn
    return fn


def _registry():
    from . import plugins

    plugins.warn_failures()
    return plugins.registry()


@command
def cmd_plugins(a: argparse.Namespace) -> int:
    from .catalog import listing

    infos = listing()["plugins"]  # kept between runs: listing imports every plugin otherwise
    if a.json:
        print(json.dumps(infos, indent=2))
        return 0
    from .tables import show

    show(("plugin", "package", "version", "registered"),
         [(i["name"], i["package"], i["version"], f"failed: {i['error']}" if i["error"] else ", ".join(i["components"]))
          for i in infos], title="inpaintzoo plugins")
    return 0


@command
def cmd_components(a: argparse.Namespace) -> int:
    import fnmatch

    from .catalog import listing

    data = listing()
    for i in data["plugins"]:
        if i["error"]:
            print(f"inpaintzoo: plugin '{i['name']}' ({i['package']}) failed to load: {i['error']}", file=sys.stderr)
    entries = sorted((c for c in data["components"] if fnmatch.fnmatchcase(c["name"], a.pattern)
                      and (a.kind is None or c["kind"] == a.kind)), key=lambda c: c["name"])
    if a.json:
        print(json.dumps(entries, indent=2))
        return 0
    from .tables import show

    show(("name", "kind", "plugin", "description"), [(c["name"], c["kind"], c["plugin"], c["doc"]) for c in entries],
         title="registered components")
    return 0


@command
def cmd_build(a: argparse.Namespace) -> int:
    from .catalog import hub_backbones
    from .network import refuse_unreachable_backbones
    from .overrides import parse_sets, resolve
    from .zoo import resolve_spec

    sets = parse_sets(a.set)
    raw, source = resolve_spec(a.spec)
    resolved = resolve(raw, sets)
    # a backbone the Hub cannot give: said before torch, a plugin or the model is loaded
    refuse_unreachable_backbones(hub_backbones(resolved, training=not a.inference_only))
    from .artifact import check_replaceable, save_model
    from .build import build_model, summary_tree
    from .spec import validate

    reg = _registry()
    check_replaceable(Path(a.out), a.overwrite)
    spec = validate(resolved, reg, source + (" with --set" if sets else ""))
    model = build_model(spec, reg)
    parts = None if a.inference_only else model.train_components(reg)
    out.print(summary_tree(model, parts))
    save_model(model, a.out, overwrite=a.overwrite, extra={"overrides": sets} if sets else None)
    out.print(f"wrote [bold]{escape(a.out)}[/bold] (model.safetensors: the generator's weights; config.json)")
    return 0


@command
def cmd_list(a: argparse.Namespace) -> int:
    from . import zoo
    from .tables import show

    entries = zoo.list_zoo(a.pattern, pretrained=a.pretrained, task=a.task, dataset=a.dataset, weights=a.weights)
    if a.json:
        print(json.dumps([e.as_dict() for e in entries], indent=2))
        return 0
    rows = [(e.name, e.task + (" (samples)" if e.samples() else ""), e.dataset, e.resolution(), _count(e.parameters),
             e.license or "—", f"{e.cpu_seconds_512:.1f}" if e.cpu_seconds_512 else "—", e.headline(),
             e.weights_status()) for e in entries]
    show(("name", "task", "data set", "resolution", "parameters", "licence", "CPU s @512²", "hole PSNR", "weights"), rows,
         title="inpaintzoo model zoo", caption=zoo.LEGEND + ". CPU s @512²: one image on a 2-core CPU (docs/benchmarks.md). "
                                                            "(samples): draws noise at inference; inpaint --seed fixes it")
    return 0


def _count(n: int | None) -> str:
    if not n:
        return "—"
    return f"{n / 1e6:.1f} M" if n >= 1e6 else f"{n / 1e3:.0f} k"


@command
def cmd_spec(a: argparse.Namespace) -> int:
    from . import zoo

    entry = zoo.get(a.name)
    sys.stdout.write(entry.spec_text())
    return 0


@command
def cmd_check(a: argparse.Namespace) -> int:
    from .testing import check_plugin

    _registry()
    results = check_plugin(a.plugin)
    from .tables import show

    show(("component", "result"), [(name, "ok" if problem is None else problem) for name, problem in results],
         title=f"conformance: {a.plugin}")
    failed = sum(p is not None for _, p in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


def _add_commands(sub: argparse._SubParsersAction) -> None:
    from .registry import KINDS

    p = sub.add_parser("plugins", help="list plugins, their versions and what they registered")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = sub.add_parser("components", help="list registered components")
    p.add_argument("pattern", nargs="?", default="*", help="shell wildcard, e.g. 'nvae.*'")
    p.add_argument("--kind", default=None, choices=sorted(KINDS), help="only components of this kind")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = sub.add_parser("build", help="validate a spec, build the model, write DIR/model.safetensors + config.json")
    p.add_argument("spec", help="a spec.toml or a zoo name")
    p.add_argument("--out", required=True, help="output folder (must not exist unless --overwrite)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a spec value (repeatable)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("--inference-only", action="store_true", help="do not build and check the losses and discriminator")
    p = sub.add_parser("list", help="the model zoo: task, data, resolution, size, licence, speed, where weights come from")
    p.add_argument("pattern", nargs="?", default="*", help="shell wildcard over zoo names")
    p.add_argument("--task", help="only entries whose task contains this (inpaint, intervene, encode)")
    p.add_argument("--dataset", help="only entries whose data set contains this (places, celeba, pendulum, …)")
    p.add_argument("--weights", help="only entries whose weights are: shipped, smoke (shipped smoke tests), cached, "
                                     "fetch (on first use), hand (download by hand), hub or none")
    p.add_argument("--pretrained", action="store_true", help="only entries with weights here or loadable by `load()`")
    p.add_argument("--json", action="store_true", help="machine-readable output (every field)")
    p = sub.add_parser("spec", help="print a zoo model's spec, to start a new one from")
    p.add_argument("name", help="a zoo name (see `inpaintzoo list`)")
    p = sub.add_parser("check", help="run the conformance checks on one plugin's components")
    p.add_argument("plugin", help="a plugin name (see `inpaintzoo plugins`)")
    for extra in _extensions():
        extra(sub)


def _extensions() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Commands that live in their own modules (train, eval, ...), added here so `--help` lists them."""
    from .commands import EXTRA_COMMANDS

    for name, (_, handler) in EXTRA_COMMANDS.items():
        COMMANDS[name] = handler
    return [adder for adder, _ in EXTRA_COMMANDS.values()]


def parser() -> argparse.ArgumentParser:
    from . import __version__

    p = Parser(prog="inpaintzoo", description="Compose, train, evaluate and share inpainting models.")
    p.add_argument("--version", action="version", version=f"inpaintzoo {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_commands(sub)
    return p


def error_line(text: str) -> None:
    err.print(f"[red]error:[/red] {escape(text)}", highlight=False, soft_wrap=True)


def log_to_stderr() -> None:
    """The library logs through `logging` (silence or redirect it as any library); the command shows its INFO
    lines on stderr, bare, so stdout carries only the command's result."""
    import logging

    class CurrentStderr(logging.StreamHandler):
        def emit(self, record: logging.LogRecord) -> None:
            self.stream = sys.stderr  # whatever stderr is now (redirected, captured), not the one at set-up
            super().emit(record)

    logger = logging.getLogger("inpaintzoo")
    if not any(isinstance(h, logging.StreamHandler) and type(h).__name__ == "CurrentStderr" for h in logger.handlers):
        handler = CurrentStderr(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def warnings_as_lines() -> None:
    """A warning reaches the user as one `warning:` line on stderr, not Python's two lines with a source line of ours."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
        err.print(f"[yellow]warning:[/yellow] {escape(str(message).strip())}", highlight=False, soft_wrap=True)

    warnings.showwarning = show


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    log_to_stderr()
    warnings_as_lines()
    from .distributed import exit_code

    return exit_code(_run(args))  # a torchrun rank ends here, past the interpreter's shutdown (see distributed.py)


def _run(args: argparse.Namespace) -> int:
    try:
        return COMMANDS[args.command](args)
    except InpaintzooError as exc:
        for line in str(exc).splitlines():
            error_line(line)
        return exc.exit_code
    except BrokenPipeError:  # `inpaintzoo list | head`: the reader left; stop quietly, as Unix tools do
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        return 141
    except MemoryError:
        error_line("out of memory; use smaller images (--max-pixels), a smaller --batch-size or --hd-strategy crop")
        return 2
    except RuntimeError as exc:
        if "can't allocate memory" in str(exc) or "out of memory" in str(exc).lower():
            error_line("out of memory; use smaller images (--max-pixels), a smaller --batch-size or --hd-strategy crop")
            return 2
        raise
    except OSError as exc:  # a read-only or full destination, a vanished file: one line naming the path
        where = exc.filename or ""
        what = {errno.ENOSPC: "no space left on the device", errno.EACCES: "permission denied",
                errno.EROFS: "read-only file system", errno.EDQUOT: "disk quota exceeded"}.get(exc.errno, exc.strerror or str(exc))
        error_line(f"{where}: {what}" if where else what)
        return 2
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
