"""Composing and watching a model: overrides, derived sizes, readable pictures, help, examples."""
import argparse
import json

import numpy as np
import pytest
import torch
from PIL import Image

from inpaintzoo.cli import main, parser
from test_train import SPEC


def test_set_overrides_are_validated_and_recorded(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC)
    run = tmp_path / "run"
    assert main(["train", str(spec), "--out", str(run), "--quiet", "--set", "train.steps=3", "--set", "train.batch_size=4",
                 "--set", "losses.kl.weight=0", "--lr", "1e-3"]) == 0
    record = json.loads((run / "overrides.json").read_text())
    assert record == {"train.steps": 3, "train.batch_size": 4, "losses.kl.weight": 0, "train.optimizer.lr": 0.001}
    spec_json = json.loads((run / "spec.json").read_text())
    assert spec_json["train"]["batch_size"] == 4 and spec_json["losses"]["kl"]["weight"] == 0
    cfg = json.loads((run / "final" / "config.json").read_text())
    assert cfg["training"]["overrides"] == record and cfg["training"]["steps"] == 3
    assert main(["build", "core-shapes-tiny", "--out", str(tmp_path / "m"), "--set", "encoder.channels=[4, 8]"]) == 0
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["overrides"] == {"encoder.channels": [4, 8]}
    assert cfg["spec"]["decoder"]["channels"] == [8, 4]  # derived from the encoder, so one --set is enough
    capsys.readouterr()
    assert main(["build", str(spec), "--out", str(tmp_path / "x"), "--set", "decoder.chanels=[8]"]) == 2
    assert "decoder.chanels: unknown key" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_sizes_flow_from_the_model_section(tmp_path):
    assert main(["build", "causal-nvae-pendulum", "--set", "model.image_size=[64, 64]", "--out", str(tmp_path / "m"),
                 "--inference-only"]) == 0
    spec = json.loads((tmp_path / "m" / "config.json").read_text())["spec"]
    assert spec["encoder"]["image_size"] == [64, 64]
    assert spec["prior"]["in_features"] == 64 * 16 * 16  # inferred from the encoder's top feature at 64²
    assert spec["decoder"]["num_upsamples"] == 4 and spec["decoder"]["in_features"] == 16
    assert spec["data"]["dataset"]["image_size"] == [64, 64]
    from inpaintzoo import load

    assert load(tmp_path / "m").inpaint(torch.rand(3, 64, 64), torch.zeros(64, 64)).shape == (3, 64, 64)


def test_sample_grid_is_titled_large_and_shows_holes_in_a_contrasting_colour(tmp_path):
    from inpaintzoo import create_model
    from inpaintzoo.data.masks import CenterConfig, CenterMask
    from inpaintzoo.plots import hole_colour
    from inpaintzoo.train.loop import write_sample_grid
    from inpaintzoo_causalvae.pendulum import Pendulum, PendulumConfig

    model = create_model("causal-nvae-pendulum")
    ds = Pendulum(PendulumConfig(image_size=(32, 32), channels=3, split="val", limit=8))
    layout = write_sample_grid(model, ds, CenterMask(CenterConfig()), tmp_path / "g.png", seed=0, n=4)
    texts = [t for t, _ in layout.texts]
    assert texts[1:4] == ["masked input", "output", "ground truth"]
    title_boxes = [layout.text(t) for t in ("masked input", "output", "ground truth")]
    tile_boxes = [b for r, c, b in layout.tiles if r == 0]
    for (l, t, r, b), (tl, tt, tr, tb) in zip(title_boxes, tile_boxes):  # each title above its own column
        assert tl <= (l + r) / 2 <= tr and b <= tt
    assert all(b[2] - b[0] >= 96 and b[3] - b[1] >= 96 for _, _, b in layout.tiles)
    name, colour = hole_colour(torch.stack([ds[i]["image"] for i in range(8)]))
    assert min(colour) == 0.0 and name in texts[0]  # a saturated colour on these mostly white scenes, and said so
    img = np.asarray(Image.open(tmp_path / "g.png").convert("RGB"))
    x0, y0, x1, y1 = tile_boxes[0]
    centre = img[(y0 + y1) // 2, (x0 + x1) // 2] / 255.0
    assert np.allclose(centre, colour, atol=0.01)  # the hole (centre) is painted in that colour


def test_intervention_grid_labels_rows_and_values_and_uses_the_mask(tmp_path):
    from inpaintzoo import create_model
    from inpaintzoo.plots import intervention_grid

    model = create_model("causal-nvae-pendulum", pretrained=True)
    values = model.prior.grid_values()
    assert values["light"] == pytest.approx([60.0, 80.0, 100.0, 120.0, 140.0])
    image = torch.rand(3, 32, 32)
    mask = torch.zeros(32, 32)
    mask[8:24, 8:24] = 1
    grid, layout = intervention_grid(model, image, values, mask=mask)
    texts = [t for t, _ in layout.texts]
    assert all(any(t.startswith(c) for t in texts) for c in values) and texts.count("= 60") == 1
    assert "inside the mask" in texts[0] and texts.count("original") == len(values)  # the input opens every row
    # each row names the concept's descendants in the shipped graph (light -> the two shadows; shadows: none); ASCII: the
    # bundled font has no arrow glyph
    assert "light -> shadow_length, shadow_position" in texts and "shadow_length (no descendants)" in texts
    (x0, y0, x1, y1) = layout.tiles[0][2]  # the original
    assert np.allclose(np.asarray(grid.crop((x0, y0, x1, y1)).resize((32, 32), Image.NEAREST)) / 255.0,
                       image.permute(1, 2, 0).numpy(), atol=1 / 255 + 1e-6)
    # tiles keep the known pixels: compare a tile's border (outside the hole) with the input
    (x0, y0, x1, y1) = layout.tiles[1][2]
    tile = np.asarray(grid.crop((x0, y0, x1, y1)).resize((32, 32), Image.NEAREST)) / 255.0
    assert np.allclose(tile[:4], image.permute(1, 2, 0).numpy()[:4], atol=1 / 255 + 1e-6)


def test_adjacency_heatmap_marks_the_true_edges(tmp_path):
    from inpaintzoo_causalvae.dag import edges_to_matrix
    from inpaintzoo_causalvae.pendulum import CONCEPTS, TRUE_EDGES
    from inpaintzoo_causalvae.plots import adjacency_heatmap

    A = torch.zeros(4, 4)
    A[0, 2] = 0.8
    texts, patches = adjacency_heatmap(A, CONCEPTS, tmp_path / "a.png", "A", truth=edges_to_matrix(TRUE_EDGES, CONCEPTS))
    assert set(CONCEPTS) <= set(texts) and "0.80" in texts and any("true edges" in t for t in texts)
    assert len(patches) == 4 and (tmp_path / "a.png").is_file()


def test_every_option_has_help_text():
    missing = []

    def walk(p: argparse.ArgumentParser, where: str) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{where} {name}")
            elif not isinstance(action, argparse._HelpAction) and not action.help:
                missing.append(f"{where} {action.option_strings or action.dest}")

    walk(parser(), "inpaintzoo")
    assert not missing, missing


def test_example_writes_an_image_and_a_mask_for_the_tour(tmp_path):
    assert main(["example", "causal-nvae-pendulum", "-o", str(tmp_path / "scene.png"), "--mask", str(tmp_path / "mask.png")]) == 0
    with Image.open(tmp_path / "scene.png") as im, Image.open(tmp_path / "mask.png") as m:
        assert im.size == (32, 32) and m.size == (32, 32)
        assert set(np.unique(np.asarray(m))) == {0, 255}
    assert main(["--version"] if False else ["list"]) == 0


def test_version_option(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.startswith("inpaintzoo ")


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["list"], ["list", "--json"], ["spec", "lama-big"]])
def test_commands_that_run_no_model_never_import_torch(args):
    """Start-up (issue 29): torch (1.6 s) and the plugins' model code load only for commands that need them.
    The times are in benchmarks/results/startup.md; this checks the cause, which a timer on a busy CI cannot."""
    import subprocess
    import sys

    code = ("import sys\nfrom inpaintzoo.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'timm', 'torchvision', 'gradio'))\n"
            "sys.stderr.write('HEAVY ' + ' '.join(heavy[:5]) + '\\n')")
    err = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120).stderr
    assert err.strip().splitlines()[-1] == "HEAVY", err[-500:]
