"""Throughput of every zoo model at its native size: train-step images/s, inference ms/image, peak memory,
channels_last, and achieved GFLOP/s against the machine's matmul peak measured in the same run.

    python benchmarks/throughput.py [--device cpu|cuda] [--batch 2] [--models 'nvae-*']

Each model runs in its own subprocess so peak memory is its own. `--compile` adds torch.compile's speed-up
over eager for the train step and batched inference, measured in the same process after a warm-up call
(compile time left out); it is off by default because compiling every zoo model takes long on a CPU.
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402

WORKER = r'''
import json, resource, sys, tempfile, time, tomllib
from pathlib import Path
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import conv_flop_count, flop_registry
class FlopCount(TorchDispatchMode):
    """torch's flop formulas without FlopCounterMode's module tracker (which trips on views of parameters),
    and with grad-weight FLOPs of grouped convolutions counted right (torch's formula ignores groups,
    overcounting depthwise backward by the channel count)."""
    def __init__(self):
        super().__init__(); self.total = 0
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        packet = func._overloadpacket
        if packet is torch.ops.aten.convolution_backward:
            grad_out, x, w, transposed, mask = args[0], args[1], args[2], args[7], args[10]
            fwd = conv_flop_count(list(x.shape), list(w.shape), list(grad_out.shape), transposed)
            self.total += fwd * (int(mask[0]) + int(mask[1]))  # grad input and grad weight each cost one forward
        elif packet in flop_registry:
            self.total += flop_registry[packet](*args, **kwargs, out_val=out)
        return out
name, device, batch, threads, compile_ = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
torch.set_num_threads(threads)
from inpaintzoo import create_model
from inpaintzoo.zoo import resolve_spec
raw, _ = resolve_spec(name)
for loss in raw.get("losses", {}).values():   # offline: VGG losses use a seeded random VGG (same cost)
    if loss.get("weights") == "timm":
        loss["weights"] = "random"
    if loss.get("type") == "cae.ground_truth":  # untrained CAEs of the right shape (same cost)
        from inpaintzoo_cae.fixtures import cae_spec
        from inpaintzoo.artifact import save_model
        d = Path(tempfile.mkdtemp())
        size = raw["model"]["image_size"][0]
        ngf, cap = (32, 256) if size >= 256 else (8, 32)
        for kind in ("texture", "structure"):
            spec = cae_spec(kind, size, ngf, cap)
            if kind == "structure":
                spec["encoder"].update(n_down=5, n_up=2)
            save_model(create_model(spec, check=False), d / kind)
        loss["texture"], loss["structure"] = str(d / "texture"), str(d / "structure")
model = create_model(raw, check=False).to(device)
parts = model.train_components(check=False).to(device)  # the losses (and discriminator) a training step computes
h, w = model.contract.image_size
x = torch.rand(batch, model.contract.channels, h, w, device=device)
m = torch.zeros(batch, 1, h, w, device=device); m[..., h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 1
labels = torch.rand(batch, model.prior.label_dim, device=device) if model.prior.label_dim else None
params = [p for p in list(model.parameters()) + list(parts.parameters()) if p.requires_grad]
opt = torch.optim.Adam(params, 1e-5)
def sync():
    if device == "cuda": torch.cuda.synchronize()
def step_with(net, mf):
    out = net(x.contiguous(memory_format=mf), m.contiguous(memory_format=mf), labels, discriminator=parts.discriminator)
    loss = sum(parts.generator_losses(out.context).values())
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
def train_step(mf):
    step_with(model, mf)
def bench(fn, n):
    fn(); sync(); t = time.perf_counter()
    for _ in range(n): fn()
    sync(); return (time.perf_counter() - t) / n
res = {"model": name, "params": sum(p.numel() for p in model.parameters()), "size": f"{h}x{w}", "batch": batch}
model.train(); parts.train()
train_step(torch.contiguous_format)  # warm-up: first-step work (e.g. 40 power iterations) is not a step's cost
with FlopCount() as fc:
    train_step(torch.contiguous_format)
res["train_gflop_per_img"] = fc.total / batch / 1e9
n = 3
t_cf = bench(lambda: train_step(torch.contiguous_format), n)
model.to(memory_format=torch.channels_last); parts.to(memory_format=torch.channels_last)
t_cl = bench(lambda: train_step(torch.channels_last), n)
res["train_img_s"] = batch / t_cf
res["train_img_s_channels_last"] = batch / t_cl
res["train_gflops"] = res["train_gflop_per_img"] * batch / min(t_cf, t_cl)
model.eval()
with torch.no_grad():
    with FlopCount() as fc:
        model.run(x[:1], m[:1])
    res["infer_gflop_per_img"] = fc.total / 1e9
    res["infer_ms_per_img_b1"] = 1000 * bench(lambda: model.run(x[:1], m[:1]), n)
    res["infer_ms_per_img"] = 1000 * bench(lambda: model.run(x, m), n) / batch
    if compile_:  # side by side with eager in this process; compile time is left out (bench warms up first)
        try:
            net = torch.compile(model.run)
            res["compile_infer_speedup"] = res["infer_ms_per_img"] / (1000 * bench(lambda: net(x, m), n) / batch)
        except Exception as exc:
            res["compile_error"] = f"inference: {type(exc).__name__}"
if compile_ and "compile_error" not in res:
    model.train()
    fast = torch.contiguous_format if t_cf <= t_cl else torch.channels_last
    compiled = torch.compile(model)
    def compiled_step():
        step_with(compiled, fast)
    try:
        res["compile_train_speedup"] = min(t_cf, t_cl) / bench(compiled_step, n)
    except Exception as exc:
        res["compile_error"] = f"training: {type(exc).__name__}"
res["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
if device == "cuda": res["peak_cuda_gib"] = torch.cuda.max_memory_allocated() / 2**30
print(json.dumps(res))
'''


def matmul_peak(device: str, threads: int) -> float:
    import torch

    torch.set_num_threads(threads)
    best = 0.0
    for n in (2048, 4096):
        a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
        a @ b
        for _ in range(5):
            if device == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            a @ b
            if device == "cuda":
                torch.cuda.synchronize()
            best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return best


def main() -> int:
    import torch

    from inpaintzoo.zoo import list_zoo

    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--models", default="*")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--name", default=None, help="results file name (default throughput-DEVICE)")
    a = ap.parse_args()
    peak = matmul_peak(a.device, a.threads)
    rows = []
    for e in list_zoo():
        if not fnmatch.fnmatchcase(e.name, a.models):
            continue
        r = subprocess.run([sys.executable, "-c", WORKER, e.name, a.device, str(a.batch), str(a.threads), "1" if a.compile else "0"],
                           capture_output=True, text=True, env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})
        if r.returncode != 0:
            rows.append({"model": e.name, "error": r.stderr.strip().splitlines()[-1][:200]})
        else:
            row = json.loads(r.stdout.strip().splitlines()[-1])
            rows.append(row)
        print(json.dumps(rows[-1]), flush=True)
    peak = max(peak, matmul_peak(a.device, a.threads))  # best of before and after: the machine's noise only lowers it
    for row in rows:
        if "train_gflops" in row:
            row["fraction_of_peak"] = row["train_gflops"] / peak
    cols = ["model", "params", "size", "batch", "train_img_s", "train_img_s_channels_last", "train_gflop_per_img",
            "train_gflops", "fraction_of_peak", "infer_ms_per_img_b1", "infer_ms_per_img", "peak_rss_gib", "error"]
    if a.compile:
        cols[-1:-1] = ["compile_train_speedup", "compile_infer_speedup", "compile_error"]
    path = write(a.name or f"throughput-{a.device}", rows, cols,
                 notes=f"Matmul peak (best of 2048² and 4096² fp32, 5 repeats, before and after the models) in the same run: {peak:.1f} GFLOP/s. FLOPs from torch.utils.flop_counter's formulas (grouped-conv backward corrected) "
                       f"(matmuls and convolutions). train_gflops uses the faster of the two memory layouts.",
                 extra={"matmul_peak_gflops": peak, "device": a.device})
    print(path.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
