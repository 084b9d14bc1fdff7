"""Is the network there? A host that does not resolve is known in milliseconds; the download clients find out after
their retries and back-offs (24–57 s of repeated lines for a Hub file). Every path that downloads asks here first, so
offline is one line at once, with the way to work offline."""
from __future__ import annotations

import ipaddress
import socket
import threading
from urllib.parse import urlparse

OFFLINE_HINT = "no network? set HF_HUB_OFFLINE=1 to work from what is cached"


def unreachable(url: str, timeout: float = 2.0) -> str:
    """'' when `url`'s host resolves within `timeout` seconds (or is an address), else why not, in a few words."""
    host = urlparse(url).hostname
    if not host or host == "localhost":
        return ""
    try:
        ipaddress.ip_address(host)
        return ""
    except ValueError:
        pass
    outcome: list[str] = []

    def resolve() -> None:
        try:
            socket.getaddrinfo(host, None)
            outcome.append("")
        except OSError as exc:
            outcome.append(f"cannot resolve {host} ({exc.strerror or exc})")

    worker = threading.Thread(target=resolve, daemon=True)
    worker.start()
    worker.join(timeout)
    return outcome[0] if outcome else f"cannot resolve {host} within {timeout:g} s"


def hub_endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def require_hub(what: str, key: str) -> None:
    """One line when `what` (a backbone's timm weights, asked for by setting `key`) would come from a Hub that cannot
    be reached: at once, not after a client's retries. Nothing to say offline (HF_HUB_OFFLINE=1: the cache answers)."""
    from huggingface_hub import constants  # HF_HUB_OFFLINE as huggingface_hub reads it

    why = "" if constants.HF_HUB_OFFLINE else unreachable(hub_endpoint())
    if why:
        from .errors import InpaintzooError

        raise InpaintzooError(f"{what} come from the Hub and {why} ({OFFLINE_HINT}, or set {key} to a safetensors file)")


def refuse_unreachable_backbones(wanted: list[tuple[str, str, str]]) -> None:
    """`require_hub` before anything is built, for the (section, component, setting) of a spec that ask for timm's
    weights (what `backbones.load_features` would say once the model is built)."""
    if wanted:
        section, kind, key = wanted[0]
        require_hub(f"{section} ('{kind}'): {key} = 'timm': the weights", key)
