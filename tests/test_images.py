"""Images in, images out, as the caller gave them: modes and depths round-trip or the change is said in one line;
EXIF orientation applied to images and masks; drawn masks read from their alpha."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from inpaintzoo import create_model
from inpaintzoo.cli import main


@pytest.fixture(scope="module")
def model():
    from conftest import TINY_SPEC

    torch.manual_seed(0)
    return create_model(dict(TINY_SPEC)).eval()


@pytest.fixture
def hole():
    m = np.zeros((32, 32), np.uint8)
    m[8:16, 8:20] = 255
    return m


def test_la_stays_la_and_float_tiff_stays_float(model, hole):
    rng = np.random.default_rng(0)
    la = Image.fromarray(np.stack([(rng.random((32, 32)) * 255).astype(np.uint8)] * 2, -1), mode="LA")
    out = model.inpaint(la, hole)
    a, b = np.asarray(out), np.asarray(la)
    assert out.mode == "LA" and np.array_equal(a[hole == 0], b[hole == 0]) and np.array_equal(a[..., 1], b[..., 1])
    f = Image.fromarray(rng.random((32, 32)).astype(np.float32), mode="F")
    out = model.inpaint(f, hole)
    assert out.mode == "F" and np.array_equal(np.asarray(out)[hole == 0], np.asarray(f)[hole == 0])
    assert (np.asarray(out)[hole > 0] != np.asarray(f)[hole > 0]).all()
    from inpaintzoo.errors import InputError

    with pytest.raises(InputError, match=r"float \(F\) image must hold finite values in \[0, 1\]"):
        model.inpaint(Image.fromarray(np.full((32, 32), 7.5, np.float32), mode="F"), hole)


def test_a_drawn_rgba_mask_is_read_from_its_alpha(model, hole):
    img = Image.fromarray((np.random.default_rng(1).random((32, 32, 3)) * 255).astype(np.uint8))
    drawn = np.zeros((32, 32, 4), np.uint8)  # black strokes on a transparent layer: RGB is 0 everywhere
    drawn[..., 3] = hole
    a = model.inpaint(img, Image.fromarray(drawn, mode="RGBA"))
    b = model.inpaint(img, Image.fromarray(hole))
    assert np.array_equal(np.asarray(a), np.asarray(b)) and not np.array_equal(np.asarray(a), np.asarray(img))


def test_exif_rotated_photo_and_mask_drawn_as_displayed(tmp_path, capsys):
    from inpaintzoo.artifact import save_model
    from conftest import TINY_SPEC

    torch.manual_seed(0)
    folder = save_model(create_model(dict(TINY_SPEC)), tmp_path / "m")
    stored = Image.fromarray((np.random.default_rng(2).random((30, 40, 3)) * 255).astype(np.uint8))  # 40 wide, 30 high
    exif = stored.getexif()
    exif[0x0112] = 6  # displayed rotated: 30 wide, 40 high
    stored.save(tmp_path / "phone.jpg", exif=exif.tobytes(), quality=95)
    mask = np.zeros((40, 30), np.uint8)  # drawn on the picture as displayed
    mask[5:15, 5:20] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    assert main(["inpaint", str(folder), str(tmp_path / "phone.jpg"), str(tmp_path / "mask.png"), "-o", str(tmp_path / "o.png")]) == 0
    out, err = capsys.readouterr()
    assert "EXIF orientation 6 applied; the result is written upright" in err
    res = Image.open(tmp_path / "o.png")
    assert res.size == (30, 40) and 0x0112 not in res.getexif()
    from PIL import ImageOps

    upright = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "phone.jpg")))
    assert np.array_equal(np.asarray(res)[mask == 0], upright[mask == 0])


def test_a_48_bit_png_is_said_to_become_8_bit(tmp_path, capsys, model):
    from inpaintzoo.images import header

    import zlib, struct

    h, w = 4, 4  # a 16-bit RGB PNG written by hand (PIL cannot write one)
    raw = b"".join(b"\x00" + struct.pack(">" + "H" * 3 * w, *([40000] * 3 * w)) for _ in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    (tmp_path / "deep.png").write_bytes(png)
    assert any("16-bit RGB PNG is read as 8-bit" in n for n in header(tmp_path / "deep.png").notes)


def test_a_jpeg_output_keeps_the_inputs_quality_exif_and_icc_profile(tmp_path, capsys):
    """A JPEG is written with the input's own quantisation tables and subsampling (its quality), its EXIF (a camera's
    tags) and ICC profile: pixels outside the hole move only by re-encoding at that quality, far less than PIL's
    default quality 75 moved them."""
    from PIL import ImageCms

    from conftest import TINY_SPEC
    from inpaintzoo.artifact import save_model

    torch.manual_seed(0)
    folder = save_model(create_model(dict(TINY_SPEC)), tmp_path / "m")
    from PIL import ImageFilter

    rng = np.random.default_rng(5)  # a photo-like picture: blurred noise
    photo = Image.fromarray((rng.random((96, 128, 3)) * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(3))
    exif = photo.getexif()
    exif[0x010F] = "inpaintzoo test camera"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    photo.save(tmp_path / "photo.jpg", quality=92, exif=exif.tobytes(), icc_profile=icc)
    mask = np.zeros((96, 128), np.uint8)
    mask[30:50, 40:70] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    assert main(["inpaint", str(folder), str(tmp_path / "photo.jpg"), str(tmp_path / "mask.png"), "-o", str(tmp_path / "o.jpg")]) == 0
    src, out = Image.open(tmp_path / "photo.jpg"), Image.open(tmp_path / "o.jpg")
    assert out.quantization == src.quantization and out.info.get("icc_profile") == icc
    assert out.getexif().get(0x010F) == "inpaintzoo test camera"
    far = np.ones_like(mask, bool)  # JPEG blocks that hold no hole pixel (16-pixel blocks with 4:2:0 chroma)
    far[16:64, 32:80] = False
    moved = np.abs(np.asarray(out, int) - np.asarray(src, int))[far]
    Image.open(tmp_path / "photo.jpg").save(tmp_path / "default.jpg")  # what writing without the input's settings does
    before = np.abs(np.asarray(Image.open(tmp_path / "default.jpg"), int) - np.asarray(src, int))[far]
    assert moved.mean() < before.mean() / 4 and moved.max() < before.max(), (moved.mean(), before.mean(), moved.max(), before.max())
    # one rule for files and folders: an existing output is refused unless --overwrite; --quality sets the encoding
    kept = (tmp_path / "o.jpg").read_bytes()
    args = ["inpaint", str(folder), str(tmp_path / "photo.jpg"), str(tmp_path / "mask.png"), "-o", str(tmp_path / "o.jpg")]
    capsys.readouterr()
    assert main(args) == 2 and (tmp_path / "o.jpg").read_bytes() == kept
    assert "o.jpg: exists; pass --overwrite to replace it" in capsys.readouterr().err
    assert main(args + ["--overwrite", "--quality", "50"]) == 0
    smaller = Image.open(tmp_path / "o.jpg")
    assert smaller.quantization != src.quantization and smaller.getexif().get(0x010F) == "inpaintzoo test camera"
    assert len((tmp_path / "o.jpg").read_bytes()) < len(kept)
