"""`inpaintzoo demo`: the web page to try models (inpaintzoo.demo.app), served on this machine."""
from __future__ import annotations

import argparse

from . import positive_int


def _add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="a local web page: draw a mask on your picture, inpaint, move causal concepts")
    p.add_argument("models", nargs="*", metavar="MODEL", help="model folders, hf-hub:ORG/NAME or zoo names listed first "
                                                              "(the zoo's models with weights are always offered)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only; "
                                                      "0.0.0.0 serves everyone who can reach this machine, see the docs)")
    p.add_argument("--port", type=positive_int, default=7860, help="port (default 7860)")
    p.add_argument("--max-pixels", type=positive_int, default=25_000_000, help="refuse larger images (default 25 M)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")


def cmd_demo(a: argparse.Namespace) -> int:
    from ..errors import InputError

    import importlib.util

    if importlib.util.find_spec("gradio") is None:  # found, not imported: imported once, by serve()
        raise InputError('demo: needs Gradio; `pip install "inpaintzoo[demo]"`')
    from ..devices import resolve_device
    from ..demo.app import serve

    if a.device != "auto":  # auto cannot fail; checking it imports torch, which the page need not wait for
        resolve_device(a.device)
    if a.port > 65535:
        raise InputError(f"--port {a.port}: must be at most 65535")
    _check_host(a.host)
    for model in a.models:  # every model named must exist before the page is served
        _check_model(model)
    where = "this machine only" if a.host in ("127.0.0.1", "localhost", "::1") else "every machine that can reach this one"
    print(f"inpaintzoo demo on http://{a.host}:{a.port} ({where}); Ctrl-C stops it")
    try:
        serve(a.models, a.max_pixels, a.device, server_name=a.host, server_port=a.port, show_error=False, quiet=True,
              max_file_size=4 * a.max_pixels, footer_links=[])
    except OSError as exc:
        raise InputError(f"--port {a.port}: cannot listen there ({exc.strerror or exc}); choose another port") from None
    return 0


def _check_host(host: str) -> None:
    """An address this machine can listen on: an IP literal or a name that resolves (`999.1.1.1` is neither)."""
    import ipaddress
    import socket

    from ..errors import InputError

    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    try:
        socket.getaddrinfo(host, None)
    except OSError:
        raise InputError(f"--host {host}: not an address of this machine (give an IP such as 127.0.0.1 or 0.0.0.0, "
                         f"or a host name that resolves)") from None


def _check_model(model: str) -> None:
    """A model argument names a zoo entry, a model folder or a well-formed hf-hub:ORG/NAME (fetched when chosen)."""
    from pathlib import Path

    from .. import zoo
    from ..errors import InputError
    from ..loader import HUB, LOCAL, parse_hub_id

    if model.startswith(HUB):
        parse_hub_id(model[len(HUB):])
        return
    path = Path(model.removeprefix(LOCAL)).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise InputError(f"{model}: a folder without config.json; not an inpaintzoo model folder")
        return
    if model in zoo.index():
        return
    if model.startswith(LOCAL) or "/" in model or "\\" in model or path.suffix:
        raise InputError(f"{model}: no such model folder")
    zoo.get(model)  # not in the zoo: the error names the nearest zoo names


COMMANDS = {"demo": (_add, cmd_demo)}
