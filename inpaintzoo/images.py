"""Image files in and out: what every command that reads or writes pictures goes through.

- Headers first: size and mode are read without decoding, and anything above `--max-pixels` is refused before
  it costs memory.
- Photos as people have them: EXIF orientation is applied on reading (`ImageOps.exif_transpose`), to images and
  masks alike, so a mask drawn on the picture as displayed fits it; the result is written upright, without the
  orientation tag, and the command says so.
- Masks: white (or 1) = hole; a mask with transparency (RGBA, LA, a palette with a transparent colour) is read
  from its alpha channel: painted = hole, transparent = keep, as drawing programs and IOPaint save them.
- What a format cannot hold is refused before anything is computed (alpha in JPEG, 16 bits in JPEG/BMP/WEBP);
  what PIL cannot hold (48-bit RGB PNGs become 8-bit when PIL reads them) is said in one line.
- Writes go through a unique temporary file beside the target, with an explicit format, and one rename.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
#: output formats by suffix (PIL format names)
FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"}
HOLDS_ALPHA = {"PNG", "TIFF", "WEBP"}
HOLDS_16BIT = {"PNG", "TIFF"}
HOLDS_FLOAT = {"TIFF"}
WIDE_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
#: images above this many pixels are refused before decoding (50 megapixels: about 0.6 GB as float RGB)
MAX_PIXELS = 50_000_000
#: EXIF orientation values that swap width and height
TRANSPOSED = {5, 6, 7, 8}


@dataclass
class Header:
    """What the file says before decoding: size as displayed (after EXIF orientation), mode, and notes."""

    size: tuple[int, int]
    mode: str
    orientation: int = 1
    notes: list[str] = field(default_factory=list)


def header(path: Path, max_pixels: int = MAX_PIXELS, skip_bad: bool = False) -> Header | None:
    """The file's header, without decoding; refuses images above `max_pixels`. A palette image with a transparent
    colour reports mode 'PA' (its alpha is kept)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            size, mode = im.size, im.mode
            if "transparency" in im.info and "A" not in mode:
                mode += "A"
            orientation = int(im.getexif().get(0x0112, 1) or 1)
            notes = []
            if im.format == "PNG" and _png_bit_depth(path) == 16 and mode in ("RGB", "RGBA"):
                notes.append(f"{path.name}: a 16-bit {mode} PNG is read as 8-bit (PIL holds 16 bits for grey only); "
                             f"the result is written in 8 bits")
    except Image.DecompressionBombError as exc:
        raise InputError(f"{path}: {exc}; larger than --max-pixels {max_pixels:,}") from None
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        if skip_bad:
            return None
        raise InputError(f"{path}: unreadable image ({exc}); fix or remove it, or pass --skip-bad") from None
    if size[0] * size[1] > max_pixels:
        raise InputError(f"{path}: {size[0]}×{size[1]} = {size[0] * size[1]:,} pixels, more than --max-pixels "
                         f"{max_pixels:,}; downscale it or raise the limit")
    if orientation in TRANSPOSED:
        size = (size[1], size[0])
    if orientation != 1:
        notes.append(f"{path.name}: EXIF orientation {orientation} applied; the result is written upright, without the tag")
    return Header(size, mode, orientation, notes)


def _png_bit_depth(path: Path) -> int | None:
    """The bit depth in a PNG's IHDR (PIL does not report it for RGB images it reads as 8-bit)."""
    with open(path, "rb") as f:
        head = f.read(26)
    return head[24] if len(head) == 26 and head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR" else None


def open_image(path: Path, max_pixels: int = MAX_PIXELS) -> Any:
    """Decode the image as displayed (EXIF orientation applied). Its header was checked against `max_pixels`."""
    from PIL import Image, ImageOps

    old = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max(max_pixels, old or 0)  # our limit was checked; PIL's own must not fire below it
    try:
        with Image.open(path) as im:
            im.load()
            out = ImageOps.exif_transpose(im.copy()) if im.getexif().get(0x0112, 1) not in (None, 1) else im.copy()
            if im.format == "JPEG":  # how it was encoded, so a JPEG output is written at the same quality
                from PIL import JpegImagePlugin

                out.info[JPEG_SETTINGS] = {"qtables": im.quantization, "subsampling": JpegImagePlugin.get_sampling(im)}
            return out
    except (OSError, ValueError, SyntaxError) as exc:
        raise InputError(f"{path}: unreadable image ({exc})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = old


def mask_of(img: Any) -> Any:
    """A mask image as 8-bit grey, 255 = hole: its alpha channel when it has transparency, else its luminance."""
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if "A" in img.getbands():
        alpha = img.getchannel("A")
        if alpha.getextrema() != (255, 255):  # a drawn mask: painted = hole, transparent = keep
            return alpha
        img = img.convert(img.mode.replace("A", "") or "L")
    if img.mode in WIDE_MODES:
        from PIL import Image
        import numpy as np

        arr = np.asarray(img)
        return Image.fromarray(((arr > 0) * 255).astype(np.uint8)) if arr.max() <= 1 else Image.fromarray((arr >> 8).astype(np.uint8))
    return img.convert("L")


def output_format(path: Path, option: str = "-o") -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{option} {path}: expected an image file name ending in {', '.join(FORMATS)}" +
                         (" (or an existing folder)" if not path.suffix else ""))
    return fmt


def check_parent(path: Path, option: str = "-o") -> None:
    for anc in path.parents:
        if anc.exists():
            if not anc.is_dir():
                raise InputError(f"{option} {path}: {anc} is a file, not a folder")
            if not os.access(anc, os.W_OK):
                raise InputError(f"{option} {path}: {anc} is not writable")
            return


def check_mode_fits(fmt: str, mode: str, path: Path, option: str = "-o") -> None:
    if mode in WIDE_MODES and fmt not in HOLDS_16BIT:
        raise InputError(f"{option} {path}: {fmt} cannot hold the 16-bit result of a 16-bit input; write .png or .tif")
    if mode == "F" and fmt not in HOLDS_FLOAT:
        raise InputError(f"{option} {path}: {fmt} cannot hold the floating-point result of a float (F) input; write .tif")
    if "A" in mode and fmt not in HOLDS_ALPHA:
        raise InputError(f"{option} {path}: {fmt} cannot hold the alpha channel of the input ({mode}); write .png, .tif or .webp")


JPEG_SETTINGS = "inpaintzoo.jpeg"  # key in a read image's info: the source JPEG's quantisation tables and subsampling


def encoder_options(fmt: str, like: Any = None, quality: int | None = None) -> dict[str, Any]:
    """How to write `fmt` so the output keeps what the input had: a JPEG input's quantisation tables and subsampling
    (its quality; else quality 95), its EXIF (orientation reset: the pixels are already upright) and ICC profile;
    PNG at compression level 1 (a 12-megapixel photo in about a second; the files are some 20 % larger).
    `quality` (1–100) replaces the JPEG/WebP quality the input would give."""
    info = getattr(like, "info", None) or {}
    opts: dict[str, Any] = {}
    if quality is not None and fmt in ("JPEG", "WEBP"):
        opts["quality"] = quality
    elif fmt == "JPEG":
        jpeg = info.get(JPEG_SETTINGS)
        if jpeg and jpeg.get("qtables"):
            opts.update(qtables=jpeg["qtables"], subsampling=max(0, jpeg.get("subsampling", 0)))
        else:
            opts.update(quality=95)
    if fmt == "PNG":
        opts["compress_level"] = 1
    if info.get("exif") and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
        from PIL import Image

        exif = Image.Exif()
        exif.load(info["exif"])
        if 0x0112 in exif:
            exif[0x0112] = 1
        opts["exif"] = exif.tobytes()
    if info.get("icc_profile") and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
        opts["icc_profile"] = info["icc_profile"]
    return opts


def save_image(img: Any, path: Path, fmt: str, exclusive: bool = False, like: Any = None,
               quality: int | None = None) -> bool:
    """Write atomically: a unique temporary file beside the target, explicit format, then one rename. With
    `exclusive`, the final step is a hard link that fails if the target appeared meanwhile (another run wrote it):
    nothing is replaced and False is returned. `like`: the input image whose encoding, EXIF and ICC profile the
    output keeps (`encoder_options`)."""
    from .paths import naming, umask

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        with naming(path), os.fdopen(fd, "wb") as f:
            img.save(f, format=fmt, **encoder_options(fmt, like, quality))
        os.chmod(tmp, 0o666 & ~umask())
        if not exclusive:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        Path(tmp).unlink(missing_ok=True)


def remove_dead_temps(folder: Path) -> int:
    """Remove the temporary files a killed writer left in `folder` (`.NAME.PID.*.tmp` of a process that no longer
    runs); a live process's are left alone. Returns how many were removed."""
    removed = 0
    if not folder.is_dir():
        return 0
    for p in folder.glob(".*.tmp"):
        parts = p.name.split(".")  # "", NAME…, PID, RANDOM, "tmp"
        pid = int(parts[-3]) if len(parts) >= 5 and parts[-3].isdigit() else None
        if pid is not None and not _alive(pid):
            p.unlink(missing_ok=True)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def image_files(path: Path, what: str) -> list[Path]:
    """The images in a folder (recursively, sorted), or the one file."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
                       and not p.name.startswith("."))
        if not files:
            raise InputError(f"{what} {path}: no images found in the folder ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return files
    if not path.is_file():
        raise InputError(f"{what} {path}: no such file or folder")
    return [path]
