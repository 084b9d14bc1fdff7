import numpy as np
import pytest
import torch

from inpaintzoo.data import masks as M
from inpaintzoo.data.celeba import CelebA, write_fixture
from inpaintzoo.errors import InputError


def areas(gen, n=60, size=256, seed=0):
    m = gen(n, size, size, torch.Generator().manual_seed(seed))
    return m.flatten(1).mean(1)


def test_center_mask_is_medfe_cae_hole():
    m = M.CenterMask(M.CenterConfig(size=128))(1, 256, 256, torch.Generator())
    rows = m[0, 0].sum(1).nonzero().flatten()
    assert rows.min() == 64 and rows.max() == 191 and m.sum() == 128 * 128
    assert M.CenterMask(M.CenterConfig(size=0.25))(2, 64, 64, torch.Generator()).sum() == 2 * 16 * 16


def test_lama_presets_are_the_released_configurations():
    """advimman/lama configs/data_gen/random_{kind}_{res}.yaml: irregular (min/max times, max width, max length),
    box probability, margin, box size range and box count."""
    released = {
        ("thin", 256): (4, 50, 10, 40, 0.0), ("thin", 512): (4, 70, 20, 100, 0.0),
        ("medium", 256): (4, 5, 50, 100, 0.3, 0, 10, 50, 1, 5), ("medium", 512): (4, 10, 100, 200, 0.3, 0, 30, 150, 1, 5),
        ("thick", 256): (1, 5, 100, 200, 0.3, 10, 30, 150, 1, 3), ("thick", 512): (1, 5, 250, 450, 0.3, 10, 30, 300, 1, 4),
    }
    for key, facts in released.items():
        p = M.LAMA_PRESETS[key]
        ours = (p.min_times, p.max_times, p.max_width, p.max_len, p.box_proba)
        if p.box_proba:
            ours += (p.box_margin, p.box_min, p.box_max, p.box_min_times, p.box_max_times)
        assert ours == facts and p.resolution == key[1] and p.max_angle == 4, key
    assert M.LAMA_MAX_AREA == 0.5


# Mean hole fraction over 100 draws at the configuration's own resolution. Measured with this generator: thin_256
# 0.26, medium_256 0.24, thick_256 0.27; the same strokes drawn with cv2 (LaMa's drawing) give 0.28, 0.24, 0.27.
# The ranges catch presets drawn at the wrong scale (the 512 settings read as 256 ones gave 0.63 / 0.75 / 0.82).
@pytest.mark.parametrize("preset, lo, hi", [("thin", 0.2, 0.33), ("medium", 0.17, 0.32), ("thick", 0.2, 0.35)])
def test_lama_256_presets_hit_their_area_ranges_under_the_cap(preset, lo, hi):
    a = areas(M.LamaMask(M.LamaConfig(preset=preset, resolution=256)), n=100)
    assert lo < float(a.mean()) < hi
    assert (a > 0).all() and (a <= 0.5).all()  # LaMa's max_tamper_area: larger masks are drawn again


def test_the_area_cap_redraws_large_masks():
    uncapped = areas(M.LamaMask(M.LamaConfig(preset="thick", resolution=256, max_area=1.0)), n=100)
    assert float((uncapped > 0.5).float().mean()) > 0.2  # measured 0.36: thick strokes often cover half the image
    assert float(uncapped.mean()) > float(areas(M.LamaMask(M.LamaConfig(preset="thick", resolution=256)), n=100).mean())


def test_presets_scale_with_size():
    small = areas(M.LamaMask(M.LamaConfig(preset="medium")), n=60, size=128).mean()
    big = areas(M.LamaMask(M.LamaConfig(preset="medium")), n=60, size=256).mean()
    assert abs(float(small - big)) < 0.06  # strokes scale with the image, so the hole fraction is similar
    r512 = areas(M.LamaMask(M.LamaConfig(preset="medium", resolution=512)), n=40, size=512).mean()
    assert 0.17 < float(r512) < 0.35


def test_medium_256_boxes_have_the_released_sizes():
    p = M.LAMA_PRESETS[("medium", 256)]
    g = torch.Generator().manual_seed(0)
    sides = []
    while len(sides) < 20:
        m = M.LamaMask.draw(p, 256, 256, g)
        rows, cols = m.sum(1), m.sum(0)
        if float(m.sum()) and bool(((m == 0) | (m == 1)).all()) and int((rows > 0).sum()) * int((cols > 0).sum()) == int(m.sum()):
            sides += [int((rows > 0).sum()), int((cols > 0).sum())]  # a mask of one box (or boxes forming one)
    assert min(sides) >= 10


def test_masks_deterministic_per_seed_and_differ_between_seeds():
    for gen in (M.LamaMask(M.LamaConfig()), M.FreeFormMask(M.FreeFormConfig()), M.BoxesMask(M.BoxesConfig())):
        a = gen(4, 64, 64, torch.Generator().manual_seed(1))
        assert torch.equal(a, gen(4, 64, 64, torch.Generator().manual_seed(1)))
        assert not torch.equal(a, gen(4, 64, 64, torch.Generator().manual_seed(2)))


def test_stroke_width_and_round_ends():
    s = M.Strokes(21, 21)
    s.segment(4, 10, 16, 10, 5)
    c = s.tensor()
    assert c[8:13, 10].all() and not c[7, 10] and not c[13, 10]  # 5 px wide
    assert c[10, 2:19].all() and not c[10, 0] and not c[10, 20]  # round ends of radius 2.5 (± PIL's rounding)


def test_celeba_fixture_attributes_and_crops(tmp_path):
    write_fixture(tmp_path, n=6)
    ds = CelebA(CelebA.Config(root=str(tmp_path), split="train", attributes=["Smiling", "Male"], image_size=(32, 32)))
    assert len(ds) == 4 and ds.label_names == ["Smiling", "Male"]
    # row i: attribute k is 1 when (i + k) odd; Smiling is column 4, Male column 1
    assert torch.equal(ds[0]["labels"], torch.tensor([0.0, 1.0])) and torch.equal(ds[1]["labels"], torch.tensor([1.0, 0.0]))
    img = ds[0]["image"]
    assert img.shape == (3, 32, 32) and float(img[1].mean()) > 0.7  # the NVAE box is all green
    neg = CelebA(CelebA.Config(root=str(tmp_path), split="train", attributes=["!Smiling"], image_size=(16, 16)))
    assert torch.equal(neg[0]["labels"], torch.tensor([1.0]))
    squash = CelebA(CelebA.Config(root=str(tmp_path), split="train", crop="squash", image_size=(32, 32)))[0]["image"]
    assert float(squash[1].mean()) < 0.7  # squash keeps the black border
    assert len(CelebA(CelebA.Config(root=str(tmp_path), split="val"))) == 1
    with pytest.raises(InputError, match="did you mean 'Smiling'"):
        CelebA(CelebA.Config(root=str(tmp_path), attributes=["Smilng"]))
    with pytest.raises(InputError, match="no img_align_celeba"):
        CelebA(CelebA.Config(root=str(tmp_path / "nope")))


def _folder(tmp_path, n=12, masks=True):
    from PIL import Image

    (tmp_path / "img" / "sub").mkdir(parents=True)
    (tmp_path / "msk").mkdir()
    for i in range(n):
        arr = (np.random.default_rng(i).random((20, 24, 3)) * 255).astype(np.uint8)
        Image.fromarray(arr).save(tmp_path / "img" / ("sub" if i % 2 else "") / f"im{i:02d}.png")
        if masks:
            m = np.zeros((10, 12), np.uint8)
            m[: i % 5 + 1] = 255  # a different hole per image, at half the image's size
            Image.fromarray(m).save(tmp_path / "msk" / f"im{i:02d}.png")
    return tmp_path / "img", tmp_path / "msk"


def test_image_folder_masks_by_stem_lists_and_seeded_split(tmp_path):
    from inpaintzoo.data.datasets import FolderConfig, ImageFolder

    root, msk = _folder(tmp_path)
    ds = ImageFolder(FolderConfig(root=str(root), split="all", image_size=(20, 24), mask_root=str(msk)))
    for i, f in enumerate(ds.files):
        k = int(f.stem[2:])
        m = ds[i]["mask"]
        assert m.shape == (1, 20, 24) and set(m.unique().tolist()) == {0.0, 1.0}
        assert int(m[0, :, 0].sum()) == 2 * (k % 5 + 1)  # its own mask (by stem), resized to the image
    (root / "train.txt").write_text("im00.png\nsub/im01.png\n# a comment\n\n")
    (root / "val.txt").write_text("im02.png\n")
    lists = {"train": "train.txt", "val": "val.txt"}
    train = ImageFolder(FolderConfig(root=str(root), split="train", split_lists=lists))
    assert [f.name for f in train.files] == ["im00.png", "im01.png"]
    assert len(ImageFolder(FolderConfig(root=str(root), split="all", split_lists=lists))) == 3
    (root / "val.txt").write_text("im99.png\n")
    with pytest.raises(InputError, match=r"val.txt:1: 'im99.png' is not an image under"):
        ImageFolder(FolderConfig(root=str(root), split="val", split_lists=lists))
    with pytest.raises(InputError, match="no list for the 'test' split"):
        ImageFolder(FolderConfig(root=str(root), split="test", split_lists=lists))
    a = ImageFolder(FolderConfig(root=str(root), split="train", val_fraction=0.5, split_seed=1)).files
    assert a == ImageFolder(FolderConfig(root=str(root), split="train", val_fraction=0.5, split_seed=1)).files
    assert a != ImageFolder(FolderConfig(root=str(root), split="train", val_fraction=0.5, split_seed=2)).files
    inner = root / "masks"  # a mask folder inside the image root is not read as images
    inner.mkdir()
    for f in msk.iterdir():
        (inner / f.name).write_bytes(f.read_bytes())
    assert len(ImageFolder(FolderConfig(root=str(root), split="all", mask_root=str(inner)))) == 12
    for f in inner.iterdir():
        f.unlink()
    inner.rmdir()
    (msk / "im05.png").unlink()
    with pytest.raises(InputError, match="no mask for 1 image.*im05.png"):
        ImageFolder(FolderConfig(root=str(root), split="all", mask_root=str(msk)))


def test_a_held_out_split_asked_for_is_never_empty():
    from inpaintzoo.data.datasets import assign_splits, split_of

    names = [n for n in (f"photo_{i}.jpg" for i in range(200)) if split_of(n, 0.1, 0.0) == "train"][:5]
    assert len(names) == 5  # five files the hash puts all in training
    split = assign_splits(names, 0.1, 0.0)
    assert sorted(split.values()) == ["train"] * 4 + ["val"]
    assert split == assign_splits(list(reversed(names)), 0.1, 0.0)  # the same image, whatever the order
    assert set(assign_splits(names, 0.0, 0.0).values()) == {"train"}  # none asked for: none taken
    assert assign_splits(names[:1], 0.1, 0.0) == {names[0]: "train"}  # training keeps at least one
