"""Publishing to a Hugging Face Hub: one atomic commit of weights, config and a model card.

Goes through huggingface_hub, so HF_ENDPOINT, HF_TOKEN, HF_HOME and HF_HUB_DISABLE_XET apply as usual.
The token is passed to the client and never printed, logged or written into the card.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .artifact import CONFIG, WEIGHTS, read_config
from .errors import InpaintzooError, LoadError


def eval_results(reports: list[dict[str, Any]]) -> list:
    """EvalResult entries from `inpaintzoo eval --json` reports: metric, value, data, mask preset, count, source."""
    from huggingface_hub import EvalResult

    out = []
    for rep in reports:
        data = rep.get("data", {})
        masks = rep.get("masks", {})
        sources, metric_of = rep.get("sources", {}), rep.get("metric_of", {})
        for metric, value in rep.get("metrics", {}).items():
            source = sources.get(metric_of.get(metric, ""), sources.get(metric.removesuffix("_hole"), "inpaintzoo.metrics"))
            out.append(EvalResult(
                task_type="image-inpainting", task_name="Image inpainting",
                dataset_type=str(data.get("dataset", "unknown")), dataset_name=str(data.get("dataset", "unknown")),
                dataset_split=data.get("split"),
                dataset_args={"mask_preset": str(masks.get("source")), "mask_seed": masks.get("seed"),
                              "images": rep.get("n"), "mask_checksum": rep.get("mask_checksum")},
                metric_type=metric, metric_name=metric, metric_value=round(float(value), 5),
                metric_config=source,
            ))
    return out


CARD = """---
{card_data}
---

# {name}

{description}
{quality}
An inpaintzoo model: `pip install {pip}` (the core and the plugins its components come from: {packages}), then
load it with the right preprocessing applied for you:

```python
from inpaintzoo import load
model = load("hf-hub:{repo_id}")
result = model.inpaint(image, mask)   # mask: 1 / white = hole; known pixels come back unchanged
```

## Usage contract

| field | value |
|---|---|
{contract_rows}

## Architecture

{architecture}

## Training

{training}

## Evaluation

{evaluation}

Papers: {papers}
"""


def build_card(folder: Path, repo_id: str, reports: list[dict[str, Any]], license: str | None = None,
               demo: bool = False) -> str:
    from huggingface_hub import ModelCardData

    cfg = read_config(folder)
    spec, contract = cfg["spec"], cfg["contract"]
    data = spec.get("data", {}).get("dataset", {}).get("type")
    papers = spec["model"].get("paper") or "—"
    arxiv = [p.strip() for p in papers.replace(";", ",").split(",") if p.strip().startswith("arXiv:")]
    card_data = ModelCardData(
        library_name="inpaintzoo", license=license or "apache-2.0", model_name=spec["model"]["name"],
        tags=["inpaintzoo", "image-inpainting", *sorted({spec[k]["type"].split(".")[0] for k in ("encoder", "prior", "decoder")})]
        + [f"arxiv:{a.removeprefix('arXiv:')}" for a in arxiv],
        datasets=[data] if data else None, eval_results=eval_results(reports) or None,
    )
    rows = "\n".join(f"| {k} | `{json.dumps(v)}` |" for k, v in contract.items())
    arch = "\n".join(f"- {k}: `{spec[k]['type']}`" for k in ("encoder", "prior", "decoder", "discriminator") if k in spec)
    losses = ", ".join(f"{n} (`{loss['type']}` × {loss.get('weight', 1.0):g})" for n, loss in (spec.get("losses") or {}).items()) or "none"
    arch += f"\n- losses: {losses}"
    arch += f"\n- parameters: {cfg.get('parameters', 0):,}; versions: {', '.join(f'{k} {v}' for k, v in cfg.get('versions', {}).items())}"
    tr = cfg.get("training")
    training = (f"`inpaintzoo train {spec['model']['name']}` with overrides `{json.dumps(tr.get('overrides', {}))}`: "
                f"{tr.get('steps')} steps, {tr.get('epochs')} epochs, EMA {tr.get('ema')}.") if tr else "Not trained (built from its spec)."
    if reports:
        ev = "\n".join(f"- {r.get('data', {}).get('dataset')} ({r.get('data', {}).get('split')}), masks `{r.get('masks', {}).get('source')}` "
                       f"seed {r.get('masks', {}).get('seed')}, {r.get('n')} images: "
                       + ", ".join(f"{k} {v:.4g}" for k, v in r.get("metrics", {}).items()) for r in reports)
    else:
        ev = "No evaluation attached."
    versions = requirements(cfg.get("versions", {}))
    packages = ", ".join(f"`{k}` {v}" for k, v in sorted(versions.items())) or "`inpaintzoo`"
    pip = " ".join(sorted(versions) or ["inpaintzoo"])
    q = cfg.get("quality")
    quality = (f"\n> **{q['grade'].capitalize()} weights.** {q.get('note', '')}. They score below OpenCV's Telea "
               f"inpainting on their own data: use them to try the pipeline, not for results.\n") \
        if isinstance(q, dict) and q.get("grade") else ""
    if demo:
        quality += (f"\nTry it in a browser: `pip install \"inpaintzoo[demo]\"` then `inpaintzoo demo hf-hub:{repo_id}`, or serve "
                    "this repository's `app.py` and `requirements.txt` as a Hugging Face Space (Gradio SDK).\n")
    return CARD.format(card_data=card_data.to_yaml(), name=spec["model"]["name"], description=spec["model"].get("description", ""),
                       packages=packages, pip=pip, quality=quality,
                       repo_id=repo_id, contract_rows=rows, architecture=arch, training=training, evaluation=ev, papers=papers)


SPACE_APP = '''# A Hugging Face Space for {repo_id}: `inpaintzoo demo` serving this model, from the installed package (the same
# app code as the command, not a copy). To run it: create a Space with the Gradio SDK and add this file and
# requirements.txt, or run `python app.py` here.
from inpaintzoo.demo.app import serve

serve(["hf-hub:{repo_id}"], offer_zoo=False)
'''


def requirements(versions: Any) -> dict[str, str]:
    """The distributions a saved model needs, from its config's versions: torch left to the core's own pin, and a
    first-party plugin's old distribution (`inpaintzoo-NAME`, before 0.3.0 bundled the plugins) folded into
    `inpaintzoo`, which now ships it: those names exist on no index."""
    from . import plugins

    if not isinstance(versions, dict):
        return {}
    bundled = {f"inpaintzoo-{i.name}" for i in plugins.host().plugins.values() if i.package == "inpaintzoo"}
    return {k: str(v) for k, v in versions.items() if k != "torch" and k not in bundled}


def space_files(folder: Path, repo_id: str) -> dict[str, bytes]:
    """app.py and requirements.txt that serve the pushed model as a Gradio Space: the packages its config names
    (the core with its demo extra, and the plugins its components come from), at least at the versions it was saved
    with."""
    versions = requirements(read_config(folder).get("versions", {}))
    versions.setdefault("inpaintzoo", "0")
    lines = [f"{'inpaintzoo[demo]' if name == 'inpaintzoo' else name}>={v}" for name, v in sorted(versions.items())]
    return {"app.py": SPACE_APP.format(repo_id=repo_id).encode(), "requirements.txt": ("\n".join(lines) + "\n").encode()}


def check_repo_id(repo_id: str, what: str = "repo") -> None:
    """ORG/NAME as the Hub accepts it (huggingface_hub's own rules), else one line."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise InpaintzooError(f"{what} {repo_id!r}: expected ORG/NAME")
    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise InpaintzooError(f"{what} {repo_id!r}: not a valid Hub repo id ({str(exc).splitlines()[0].rstrip('.')})") from None


def hub_error(exc: BaseException, what: str) -> InpaintzooError:
    """One line for what went wrong talking to the Hub: refused token, no access, not reachable, or its message."""
    import os

    text = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status == 401 or "401" in text:
        return InpaintzooError(f"{what}: the Hub refused the token (401 Unauthorized); check --token, HF_TOKEN or `hf auth login`")
    if status == 403 or "403" in text:
        return InpaintzooError(f"{what}: the token does not grant access to this repository (403 Forbidden)")
    if _network(exc):
        endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
        return InpaintzooError(f"{what}: cannot reach the Hub at {endpoint} ({type(exc).__name__}); check the network "
                               f"or HF_ENDPOINT")
    return InpaintzooError(f"{what}: hub error: {text}")


def _network(exc: BaseException) -> bool:
    names = {c.__name__ for c in type(exc).__mro__}
    return bool(names & {"ConnectError", "ConnectTimeout", "ConnectionError", "TimeoutException", "ReadTimeout",
                         "NetworkError", "TransportError"})


def push(folder: str | Path, repo_id: str, private: bool = False, branch: str | None = None, message: str | None = None,
         token: str | None = None, reports: list[dict[str, Any]] | None = None, demo: bool = False) -> str:
    """Create the repo if needed and upload model.safetensors, config.json and README.md in one commit; with `demo`,
    also app.py and requirements.txt (space_files), so the repository's files can serve as a Space."""
    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    check_repo_id(repo_id, "push")
    folder = Path(folder)
    read_config(folder)
    if not (folder / WEIGHTS).is_file():
        raise LoadError(f"{folder}: no {WEIGHTS} to push")
    card = build_card(folder, repo_id, reports or [], demo=demo)
    extra = space_files(folder, repo_id) if demo else {}
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        if branch:
            api.create_branch(repo_id, branch=branch, exist_ok=True)
        info = api.create_commit(
            repo_id,
            operations=[CommitOperationAdd(WEIGHTS, str(folder / WEIGHTS)), CommitOperationAdd(CONFIG, str(folder / CONFIG)),
                        CommitOperationAdd("README.md", card.encode()),
                        *(CommitOperationAdd(name, data) for name, data in extra.items())],
            commit_message=message or f"Upload {read_config(folder)['architecture']} with inpaintzoo",
            revision=branch,
        )
    except (HfHubHTTPError, OSError) as exc:
        raise hub_error(exc, f"push {repo_id}") from None
    except Exception as exc:  # the client's transport errors (httpx) are not OSErrors
        if _network(exc) or type(exc).__module__.startswith(("httpx", "requests", "urllib3")):
            raise hub_error(exc, f"push {repo_id}") from None
        raise
    return info.oid
