"""The inference-side commands: inpaint, intervene, masks, eval."""
import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from inpaintzoo import create_model
from inpaintzoo.artifact import save_model
from inpaintzoo.cli import main


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("m") / "shapes"
    save_model(create_model("core-shapes-tiny"), out)
    return out


def _png(path, arr):
    Image.fromarray(arr).save(path)
    return path


def test_inpaint_files_and_folders(model_dir, tmp_path, capsys):
    rng = np.random.default_rng(0)
    (tmp_path / "in").mkdir()
    (tmp_path / "masks").mkdir()
    for name, (h, w) in {"a": (32, 32), "b": (40, 52)}.items():
        _png(tmp_path / "in" / f"{name}.png", (rng.random((h, w, 3)) * 255).astype(np.uint8))
        m = np.zeros((h, w), np.uint8)
        m[5:15, 5:20] = 255
        _png(tmp_path / "masks" / f"{name}.png", m)
    assert main(["inpaint", str(model_dir), str(tmp_path / "in"), str(tmp_path / "masks"), "-o", str(tmp_path / "out")]) == 0
    for name in ("a", "b"):
        src = np.asarray(Image.open(tmp_path / "in" / f"{name}.png"))
        got = np.asarray(Image.open(tmp_path / "out" / f"{name}.png"))
        keep = np.asarray(Image.open(tmp_path / "masks" / f"{name}.png")) == 0
        assert got.shape == src.shape and np.array_equal(got[keep], src[keep])
    # one mask for a single file; a size mismatch is refused unless --resize-mask
    assert main(["inpaint", str(model_dir), str(tmp_path / "in" / "b.png"), str(tmp_path / "masks" / "a.png"),
                 "-o", str(tmp_path / "b.png")]) == 2
    assert "pass --resize-mask" in capsys.readouterr().err
    assert main(["inpaint", str(model_dir), str(tmp_path / "in" / "b.png"), str(tmp_path / "masks" / "a.png"),
                 "-o", str(tmp_path / "b.png"), "--resize-mask"]) == 0
    (tmp_path / "in" / "c.png").write_bytes(b"not an image")
    _png(tmp_path / "masks" / "c.png", np.zeros((8, 8), np.uint8))
    assert main(["inpaint", str(model_dir), str(tmp_path / "in"), str(tmp_path / "masks"), "-o", str(tmp_path / "o2")]) == 2
    out = capsys.readouterr().out  # the others are done; the bad one is named in the summary, nothing written for it
    assert "done 2, skipped 0, failed 1" in out and f"failed {tmp_path / 'in' / 'c.png'}: unreadable image" in out
    assert sorted(p.name for p in (tmp_path / "o2").iterdir()) == ["a.png", "b.png"]
    assert main(["inpaint", str(model_dir), str(tmp_path / "in"), str(tmp_path / "masks"), "-o", str(tmp_path / "o3"), "--skip-bad"]) == 0


def test_masks_command_is_seeded_and_checksummed(tmp_path):
    assert main(["masks", "--preset", "medium", "--size", "64", "-n", "5", "--seed", "3", "-o", str(tmp_path / "a")]) == 0
    assert main(["masks", "--preset", "medium", "--size", "64", "-n", "5", "--seed", "3", "-o", str(tmp_path / "b")]) == 0
    a = json.loads((tmp_path / "a" / "masks.json").read_text())
    b = json.loads((tmp_path / "b" / "masks.json").read_text())
    assert a["checksum"] == b["checksum"] and len(a["files"]) == 5
    m = np.asarray(Image.open(tmp_path / "a" / "00000.png"))
    assert m.shape == (64, 64) and set(np.unique(m)) <= {0, 255}


def test_eval_reports_metrics_buckets_and_provenance(model_dir, tmp_path):
    out = tmp_path / "r.json"
    assert main(["eval", str(model_dir), "--masks", "thick", "--n", "12", "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["n"] == 12 and set(r["metrics"]) >= {"psnr_hole", "ssim_hole", "l1_hole", "psnr"}
    assert sum(b["n"] for b in r["buckets"]) == 12
    assert r["mask_checksum"] and "torchmetrics" in r["sources"]["core.ssim"] and "torch" in r["versions"]
    # the same command gives the same masks, so the same numbers
    assert main(["eval", str(model_dir), "--masks", "thick", "--n", "12", "--json", str(tmp_path / "s.json")]) == 0
    assert json.loads((tmp_path / "s.json").read_text())["metrics"] == r["metrics"]


def test_eval_with_chosen_metrics_lpips_and_fid(model_dir, tmp_path, capsys):
    from inpaintzoo.fid import tiny_feature_network

    net = tiny_feature_network(tmp_path / "net.pt")
    out = tmp_path / "r.json"
    assert main(["eval", str(model_dir), "--masks", "center", "--n", "6", "--metrics", "core.psnr", "--lpips",
                 "--lpips-backbone", "random", "--fid", "--fid-weights", str(net), "--allow-few-fid", "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert set(r["metrics"]) == {"psnr", "psnr_hole", "lpips", "fid"} and r["fid_images"] == 6
    assert r["metrics"]["lpips"] > 0 and "LPIPS v0.1 vgg" in r["sources"]["core.lpips"]
    assert "sha1" in r["sources"]["core.fid"] and all("lpips" in b for b in r["buckets"])
    assert r["metric_of"] == {"psnr": "core.psnr", "psnr_hole": "core.psnr", "lpips": "core.lpips", "fid": "core.fid",
                              "fid_images": "core.fid"}
    assert main(["eval", str(model_dir), "--n", "6", "--metrics", "core.psnr,core.lpisp"]) == 2
    assert "did you mean 'core.lpips'" in capsys.readouterr().err
    assert main(["eval", str(model_dir), "--n", "6", "--fid", "--fid-weights", str(net)]) == 2
    assert "FID on 6 images refused" in capsys.readouterr().err


def test_intervene_command(tmp_path, capsys):
    from tests_support import tiny_causal_spec

    model = create_model(tiny_causal_spec())
    save_model(model, tmp_path / "m")
    img = _png(tmp_path / "x.png", (np.random.default_rng(0).random((16, 16, 3)) * 255).astype(np.uint8))
    assert main(["intervene", str(tmp_path / "m"), str(img), "--set", "light=120", "-o", str(tmp_path / "o.png")]) == 0
    assert Image.open(tmp_path / "o.png").size == (16, 16)
    assert main(["intervene", str(tmp_path / "m"), str(img), "--grid", "-o", str(tmp_path / "g.png")]) == 0
    assert Image.open(tmp_path / "g.png").size[1] > 4 * 16  # one row per concept
    assert main(["intervene", str(tmp_path / "m"), str(img), "--set", "ligth=1", "-o", str(tmp_path / "o2.png")]) == 2
    assert "did you mean 'light'" in capsys.readouterr().err
    assert main(["intervene", str(tmp_path / "m"), str(img), "--set", "light", "-o", str(tmp_path / "o2.png")]) == 2
    before = (tmp_path / "o.png").read_bytes()  # an existing output: refused unless --overwrite, as inpaint's
    assert main(["intervene", str(tmp_path / "m"), str(img), "--set", "light=60", "-o", str(tmp_path / "o.png")]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err and (tmp_path / "o.png").read_bytes() == before
    assert main(["intervene", str(tmp_path / "m"), str(img), "--set", "light=60", "-o", str(tmp_path / "o.png"),
                 "--overwrite"]) == 0 and (tmp_path / "o.png").read_bytes() != before


def test_an_eval_report_is_strict_json_when_a_hole_metric_has_no_hole(model_dir, tmp_path):
    """Masks without a hole leave the hole metrics undefined: null in the report, which stays strict JSON."""
    import json

    from PIL import Image

    (tmp_path / "empty").mkdir()
    for i in range(2):
        Image.new("L", (16, 16), 0).save(tmp_path / "empty" / f"{i}.png")
    assert main(["eval", str(model_dir), "--masks", str(tmp_path / "empty"), "--n", "2",
                 "--json", str(tmp_path / "r.json")]) == 0
    text = (tmp_path / "r.json").read_text()
    report = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in the report"))
    assert report["buckets"][0]["psnr_hole"] is None and isinstance(report["metrics"]["psnr"], float)


def test_a_full_disk_names_the_output_in_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    """write() into a full disk raises ENOSPC without a file name; the one error line still names what was being
    written (the mask folder, the --json report), and no half-written output or temporary file stays."""
    import errno

    from PIL import Image as PILImage

    real_save = PILImage.Image.save

    def full_after_two(self, fp, *a, **k):
        full_after_two.n += 1
        if full_after_two.n > 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, fp, *a, **k)

    full_after_two.n = 0
    monkeypatch.setattr(PILImage.Image, "save", full_after_two)
    assert main(["masks", "--preset", "thick", "--size", "32", "-n", "5", "-o", str(tmp_path / "m")]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"error: {tmp_path / 'm'}: no space left on the device"
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    from inpaintzoo import artifact

    monkeypatch.setattr(artifact.os, "fdopen", lambda fd, *a, **k: _FullFile(fd))
    with pytest.raises(OSError) as info:
        artifact.atomic_write_text(tmp_path / "r.json", "{}")
    assert info.value.filename == str(tmp_path / "r.json") and info.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


class _FullFile:
    """A file object whose write() fails as on a full disk (and closes its descriptor)."""

    def __init__(self, fd: int):
        self.fd = fd

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        os.close(self.fd)
        return False

    def write(self, text):
        import errno

        raise OSError(errno.ENOSPC, "No space left on device")
