"""Copy the latest benchmark tables (benchmarks/results/*.md) into docs/benchmarks.md."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent
INTRO = """# Benchmarks

Scripts in `benchmarks/` are run by hand (never in CI); each writes `benchmarks/results/NAME.json` and a Markdown
table with the machine, versions and thread count. This page is assembled from those tables by
`python benchmarks/collect.py`. Numbers from different machines are not comparable; ratios within one table are.
Hole PSNR is the mean of per-image values (capped at 100 dB for an exact fill), so holes that land on flat
background lift it; hole L1 is the steadier column. torch.compile was measured for the pendulum models only
(`throughput-cpu-compile`, `--compile`); no GPU was available when these were run.

| script | what it measures |
|---|---|
| `seed_causal_nvae.py` | the causal-NVAE seed's claims over seeds: hole quality, interventions against true counterfactuals, SHD at 0.1/0.3/0.5, OpenCV Telea beside them |
| `train_zoo.py` | trains the CPU zoo entries, ships their weights in `zoo/weights/`, measures them as registry.toml records (`zoo-weights`) |
| `rtv_cost.py` | MEDFE's RTV structure targets: seconds per image and solve residual, first version vs now |
| `data_pipeline.py` | loader img/s and the data share of a 256² training step from a JPEG folder, by DataLoader workers |
| `medfe_cae.py` | MEDFE vs MEDFE-CAE (tiny, same data, masks, seed, budget) |
| `baselines.py` | trained models vs OpenCV Telea / Navier-Stokes and scikit-image biharmonic (when installed); `baselines` = pendulum models, `baselines-shapes` = the MEDFE tiny models |
| `throughput.py` | train img/s, inference ms/img, FLOPs, GFLOP/s vs the matmul peak, channels_last, peak memory |
| `release_parity.py` | each converter against its release's own code (a checkout given by path): network output and `inpaint()` differences, per file layout and size (`parity_*.py`: one module per release) |
| `release_speed.py` | each ported network beside the release's own, same input, one run: 512² (MEDFE 256²) at batch 1 and 4, NCHW and channels_last, GFLOP/s against the matmul peak |
| `release_speed.py --mmagic … --name release_speed_mmagic` | the same for mmagic's older models (DeepFill v2 and v1, Global&Local, PConv) beside mmagic's own modules |
| `hd_photos.py` | big-lama on photo sizes under each HD strategy (time, peak memory), a folder of mixed-size photos (img/s, data share), LaMa's predict.py steps beside `inpaint()`, bfloat16 against float32 per model |
| `zoo_speed.py` | CPU seconds of every zoo entry on one 512² photo (`inpaintzoo list`'s CPU column, registry.toml) |
| `demo_speed.py` | `inpaintzoo demo` in headless Chromium: launch to page, to model ready, click to result |
| `seed_do_diagnosis.py` | why do() through the learned graph loses: the learned mechanisms against the true children and all true labels, and the causal layer's intervention modes on the same weights |
| `seed_do_diagnosis.py … --name seed_do_consistency` | the same on CausalVAE + PC trained without and with `causalvae.do_consistency` (issue 37; trained by `seed_causal_nvae.py`) |
| `seed_do_diagnosis.py causal-nvae-pendulum --name seed_do_counterfactual_pendulum` | the shipped pendulum model with do() by each of the layer's three modes, `counterfactual` included (issue 37) |
| `seed_faces.py` | the seed's face experiment on concept faces 64²: holes (LaMa thick) beside Telea, ST-LPIPS, regeneration sharpness, SHD, do() PSNR per do() mode, how far do() moves each concept beside the SCM (Figs. 2–5) |
| `seed_faces.py … --name seed_faces_capacity` | §4.2: the same for a narrower NVAE-cell decoder (decoder capacity against hole and do() PSNR) |
| `startup.py` | CLI start-up (`--version`, `--help`, `list`, `plugins`, `components`, an offline refusal, a 12 MP crop inpaint) beside `python -c "import torch"` |
| `finetune_e2e.py` | one fine-tune as a user runs it: a release-layout LaMa-Fourier fetched, trained with LaMa's recipe, killed with SIGKILL and resumed (bit-identical), evaluated, pushed to a Hub-compatible server and loaded back |
| `train_parity.py` | LaMa's and AOT-GAN's training against their releases' own code: each loss's value and gradient, the discriminators, one whole iteration (every weight after both Adam steps), iteration time and peak memory |
| `recipe_matters.py` | does the released recipe matter: a small LaMa-Fourier-shaped generator trained from scratch on real photos for the same CPU budget with L1 only, LaMa's recipe (what runs offline) and a cross-family composition, beside OpenCV Telea; FID and ST-LPIPS on 1,000 held-out crops |
| `release_parity.py --name release_parity_load` | the same parity through `load()` exactly as a user calls it (the contract's layout and normalisation), for LaMa, AOT-GAN and DeepFill v2 |
| `train_parity_deepfill.py` | DeepFill v2's training against mmagic's own modules: each L1 term of both stages, the hinge loss's two sides, the SN-PatchGAN discriminator, one whole iteration (`TwoStageInpaintor.train_step`'s body), iteration time and peak memory |
| `hostile_sweep.py` | a sweep of 400+ hostile and careless inputs (checkpoints, model folders, images, specs, ONNX files, options), each its own `inpaintzoo` process: tracebacks, hangs, peak memory over 1 GiB, silent results, leftovers, code run |
| `release_parity.py --aotgan … --mmagic … --name release_parity_mmagic` | the mmagic-released models (AOT-GAN's mmagic layout, DeepFill v2 and v1, Global&Local, PConv) beside mmagic's own modules through `load()` |
| `release_parity.py --mat … --photos … --name release_parity_mat` | MAT beside its release's generator and generate_image.py's steps through `load()`/`inpaint(seed=)`: IOPaint's state dict and the authors' layout (noise 'const' and 'random'), photos at 512² and 333×517 (`parity_mat.py`) |
| `release_parity.py --ldm … --taming … --photos … --name release_parity_ldm` | latent-diffusion inpainting beside the release's U-Net, VQ-f4 autoencoder and DDIM sampler: one U-Net step, the decode, `inpaint(seed=, steps=)` against scripts/inpaint.py's steps (the whole 50-step sampler at 256²) (`parity_ldm.py`) |
| `release_speed.py --mat … --name release_speed_mat` | MAT beside its release's generator, 512², batch 1 and 4 |
| `ldm_speed.py` | latent-diffusion inpainting beside the release: seconds per DDIM step, the autoencoder, and the default 50-step `inpaint()`'s wall time at 256² and 512², batch 1 and 4 |
| `export_onnx.py` | `inpaintzoo export`: each photo-grade and shipped model's ONNX files (network alone, whole pipeline) run by ONNX Runtime beside `inpaint()` on photos at three sizes; `export_onnx_speed`: both runtimes at 512², batch 1, and the file sizes |
"""


def main() -> None:
    parts = [INTRO]
    for md in sorted((ROOT / "results").glob("*.md")):
        text = md.read_text().replace(f"# {md.stem}", f"## {md.stem}", 1)
        parts.append(text)
    (ROOT.parent / "docs" / "benchmarks.md").write_text("\n".join(parts))


if __name__ == "__main__":
    main()
