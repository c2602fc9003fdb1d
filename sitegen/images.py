"""Responsive images: every raster photo an article uses, at a set of widths, in WebP and its
own format, with a 1200x630 crop for `og:image`.

How it fits the build:

1. Parse (workers): a `Resolver` reads each local image an article uses (lead `image`,
   Markdown images, the figure/img/image shortcodes): its content digest and its size after
   EXIF orientation, from the file's header (no decoding). The article's HTML names the
   derived files; each use is recorded (`take_uses`, `remember_uses`) under the article's
   parse key, and the article's digest is folded with its images' digests, so that its page
   renders again when one of them changes.
2. Before parsing, `stale_keys` finds the cached articles whose images changed since they
   were parsed (a stat of each; the file is hashed only when its stat changed): they are
   parsed again.
3. The `images` stage (`prepare`) makes the derived files that the cache lacks, in the
   worker pool, and returns them as copy jobs into `assets/img/<key>/`.

Derived files live in `<cache>/images/<key>/`, `key` a digest of the source's bytes and of
the settings (widths, quality, format): a folder is complete once its `done` file exists,
so a build checks it with one stat. URLs: `assets/img/<key>/<name>-<width>.<ext>` and
`<name>-og.jpg`; sitegen refuses any other copied file in such a folder (copies.copy_clashes).

Derived files are re-encoded from decoded pixels: no EXIF (the location of a phone photo,
the camera's serial number), XMP or comments survive; only the ICC colour profile is kept.
Pillow's encoders are run with fixed options and write no timestamps: two builds give the
same bytes. Original files are still copied as they are.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ContentError, Problem
from .sources import stat_signature
from .state import BuildState, replace_file
from .statefiles import StateFiles

if TYPE_CHECKING:
    from .config import Config
    from .writer import CopyJob

# Runs `make` over jobs in the worker pool: workers.py owns the processes (and imports this
# module), so the build hands it in.
MakeAll = Callable[[list["Job"]], Iterable["Problem | None"]]

FORMAT = 1  # bump when the derived bytes change for the same settings
OUTPUT_FOLDER = "assets/img"
RESERVED = re.compile(r"^assets/img/[0-9a-f]{16}/")
DERIVED_URL = re.compile(r"assets/img/([0-9a-f]{16})/([^/]+)-(\d+)\.(jpg|png|webp)$")
OG_SIZE = (1200, 630)
JPEG_QUALITY = 82
WEBP_QUALITY = 78
# Pillow's format -> the extension of the fallback files; others pass through unchanged
FALLBACK = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "png"}
EXIF_IN_HEADER = ("JPEG", "MPO", "WEBP")  # a PNG's EXIF may follow its pixels: not read
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif")
ORIENTATION = 0x0112
SIZES = "(min-width: 48rem) 46rem, 100vw"


@dataclass(frozen=True)
class Use:
    """One local raster image an article uses, as it was when the article was parsed."""

    path: str  # the image file
    signature: str  # its stat signature
    digest: str  # of its bytes
    key: str  # its derived files' folder: the digest and the settings
    stem: str  # its file name without extension, for the derived files' names
    ext: str  # the fallback format's extension
    width: int  # after EXIF orientation
    height: int
    display: str  # the article file, as errors name it
    line: int | None  # where the article refers to it


@dataclass(frozen=True)
class Picture:
    """What a template needs to show a derived image."""

    src: str  # the largest fallback file
    srcset: str
    webp_srcset: str  # "" when the fallback is WebP already
    width: int
    height: int
    sizes: str = SIZES


class ImageError(Exception):
    """A local image sitegen cannot read (not an image, or a format it does not know)."""


# ---------------------------------------------------------------- settings and names

def settings_digest(config: Config) -> str:
    return f"{FORMAT}|{config.image_widths}|{JPEG_QUALITY}|{WEBP_QUALITY}|{OG_SIZE}"


def derived_key(digest: str, config: Config) -> str:
    raw = f"{digest}|{settings_digest(config)}".encode()
    return hashlib.blake2b(raw, digest_size=8).hexdigest()


def widths_for(width: int, wanted: Sequence[int]) -> list[int]:
    """The widths made of an image `width` pixels wide: never wider than the image; the image
    itself when it is narrower than the largest width asked for."""
    largest = min(width, max(wanted))
    return sorted({w for w in wanted if w < largest} | {largest})


def scaled_height(width: int, height: int, to: int) -> int:
    return max(1, round(height * to / width))


def stem_of(name: str) -> str:
    stem = Path(name).stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-.") or "image"


def picture(url: str, width: int, height: int, config: Config) -> Picture | None:
    """The srcsets of a derived image from its URL (the largest fallback file, as the
    Article's `image` holds it) and that file's size; None for any other image."""
    match = DERIVED_URL.search(url or "")
    if not match or not width or not height:
        return None
    prefix = url[:match.start(2)]
    stem, ext = match.group(2), match.group(4)
    sizes = widths_for(width, config.image_widths)

    def srcset(kind: str) -> str:
        return ", ".join(f"{prefix}{stem}-{w}.{kind} {w}w" for w in sizes)

    return Picture(url, srcset(ext), "" if ext == "webp" else srcset("webp"), width, height)


def og_image(url: str) -> str:
    """The 1200x630 crop of a derived image (any other URL as it is)."""
    match = DERIVED_URL.search(url or "")
    if not match:
        return url
    return f"{url[:match.start(2)]}{match.group(2)}-og.jpg"


# ---------------------------------------------------------------- parse: reading and uses

_USES: list[Use] = []  # uses recorded while one article is parsed (one per worker process)
_PROBED: dict[tuple[str, str], tuple[str, str, int, int] | None] = {}


def take_uses() -> list[Use]:
    """The uses recorded since the last call (the article just parsed), forgotten here."""
    uses = list(_USES)
    _USES.clear()
    return uses


def peek_uses() -> tuple[Use, ...]:
    return tuple(_USES)


def fold_digest(digest: str, uses: Iterable[Use]) -> str:
    """An article's digest with its images': its page depends on both."""
    digests = sorted({use.digest for use in uses})
    if not digests:
        return digest
    return hashlib.blake2b("|".join([digest, *digests]).encode(), digest_size=16).hexdigest()


def probe(path: Path) -> tuple[str, str, int, int] | None:
    """(digest, fallback extension, width, height after orientation) of a raster image; None
    for a file that passes through (SVG, an animated GIF, a format not made smaller here).
    Only the header is read by Pillow: no decoding. Raises ImageError for a file that is no
    image Pillow knows."""
    signature = stat_signature(path)
    known = (str(path), signature)
    if known in _PROBED:
        return _PROBED[known]
    from io import BytesIO

    from PIL import Image, UnidentifiedImageError

    data = path.read_bytes()
    try:
        with Image.open(BytesIO(data)) as image:
            fmt = image.format or ""
            if fmt not in FALLBACK or fmt != "MPO" and getattr(image, "is_animated", False):
                result = None
            else:
                width, height = image.size
                turned = fmt in EXIF_IN_HEADER and image.getexif().get(ORIENTATION, 1) > 4
                if turned:
                    width, height = height, width
                digest = hashlib.blake2b(data, digest_size=16).hexdigest()
                result = (digest, FALLBACK[fmt], width, height)
    except UnidentifiedImageError:
        raise ImageError(f"{path.name} is not an image sitegen can read") from None
    except (OSError, SyntaxError, ValueError) as exc:  # Pillow's header errors
        raise ImageError(f"{path.name}: {exc}") from None
    _PROBED[known] = result
    return result


def is_raster_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def use_image(path: Path, config: Config, display: str, line: int | None
              ) -> tuple[Use, str] | None:
    """Record `path` as used by the article being parsed; (its use, the URL of its largest
    fallback file relative to the site root, without the base path) or None when it passes
    through unchanged. Raises ImageError when it cannot be read."""
    if not is_raster_name(path.name) or not path.is_file():
        return None
    probed = probe(path)
    if probed is None:
        return None
    digest, ext, width, height = probed
    largest = widths_for(width, config.image_widths)[-1]
    use = Use(str(path), stat_signature(path), digest, derived_key(digest, config),
              stem_of(path.name), ext, largest, scaled_height(width, height, largest),
              display, line)
    _USES.append(use)
    return use, f"{OUTPUT_FOLDER}/{use.key}/{use.stem}-{largest}.{ext}"


class Resolver:
    """Finds the file of an image address as written in an article, and its Picture."""

    def __init__(self, config: Config):
        self.config = config

    def file_of(self, src: str, source: str, bundle_files: Sequence[str]) -> Path | None:
        """A page-bundle file (a relative address) or a file under static/ (a site path);
        None for a remote address or anything else."""
        src = src.split("#", 1)[0].split("?", 1)[0]
        if not src or re.match(r"^([a-z][a-z0-9+.-]*:|//)", src, re.I):
            return None
        if src.startswith("/"):
            base = self.config.base_path
            rel = src[len(base):] if src.startswith(base) else src.lstrip("/")
            path, root = self.config.static_dir / rel, self.config.static_dir
        else:
            rel = src.removeprefix("./")
            if rel not in bundle_files:
                return None
            root = self.config.content_dir / Path(source).parent
            path = root / rel
        if ".." in Path(rel).parts:
            return None
        return path

    def picture(self, src: str, source: str, bundle_files: Sequence[str], display: str,
                line: int | None) -> Picture | None:
        path = self.file_of(src, source, bundle_files)
        if path is None:
            return None
        found = use_image(path, self.config, display, line)
        if found is None:
            return None
        use, rel = found
        return picture(self.config.base_path + rel, use.width, use.height, self.config)


# ---------------------------------------------------------------- the uses (state.py keeps them)

def remember_uses(config: Config, rows: Sequence[tuple[str, Sequence[Use]]]) -> None:
    """The images of each parsed article (by parse key), replacing what was known."""
    BuildState(config.cache_dir).keep_image_uses(
        [(key, [astuple(use) for use in uses]) for key, uses in rows])


def uses_of(config: Config, keys: Iterable[str] | None) -> dict[str, list[Use]]:
    """The recorded uses of these parse keys (None: of every key recorded)."""
    kept = BuildState(config.cache_dir).image_uses(None if keys is None else set(keys))
    return {key: [Use(*fields) for fields in uses] for key, uses in kept.items()}


def stale_keys(config: Config, keys: Iterable[str] | None) -> set[str]:
    """Parse keys (of these, or None: of any recorded) whose articles use an image that
    changed (or went) since they were parsed. A stat of each image; one whose stat changed
    is hashed."""
    recorded = uses_of(config, keys)
    current: dict[str, str | None] = {}
    stale = set()
    for key, uses in recorded.items():
        for use in uses:
            if use.path not in current:
                current[use.path] = _current_digest(use)
            if current[use.path] != use.digest:
                stale.add(key)
    return stale


def _current_digest(use: Use) -> str | None:
    try:
        if stat_signature(use.path) == use.signature:
            return use.digest
        with open(use.path, "rb") as file:
            return hashlib.blake2b(file.read(), digest_size=16).hexdigest()
    except OSError:
        return None


# ---------------------------------------------------------------- the images stage

@dataclass(frozen=True)
class Job:
    """Derived files to make of one source image (the first article that uses it)."""

    use: Use
    folder: str


def prepare(config: Config, keys: Iterable[str], make_all: MakeAll) -> list[CopyJob]:
    """Make the derived files the cache lacks (with `make_all`: the worker pool) and return
    every derived file of these articles (parse keys) as a copy job. A file that cannot be
    decoded is an error naming the article and the line that uses it."""
    from .writer import CopyJob

    uses = [u for group in uses_of(config, keys).values() for u in group]
    if not uses:
        return []
    root = StateFiles.of(config.cache_dir).images
    first: dict[str, Use] = {}
    for use in sorted(uses, key=lambda u: (u.display, u.line or 0)):
        first.setdefault(use.key, use)
    todo = [Job(use, str(root / key)) for key, use in sorted(first.items())
            if not (root / key / "done").is_file()]
    if todo:
        problems = [p for p in make_all(todo) if p is not None]
        if problems:
            raise ContentError(problems)
    copies: dict[str, CopyJob] = {}
    for use in uses:
        folder = root / use.key
        for name in (folder / "done").read_text().split():
            kind, ext = name.split(".")
            rel = f"{OUTPUT_FOLDER}/{use.key}/{use.stem}-{kind}.{ext}"
            copies.setdefault(rel, CopyJob(folder / name, rel))
    _forget_unused(root, set(first))
    return [copies[rel] for rel in sorted(copies)]


def _forget_unused(root: Path, keep: set[str]) -> None:
    import shutil

    for entry in os.scandir(root):
        if entry.is_dir() and entry.name not in keep and re.fullmatch(r"[0-9a-f]{16}",
                                                                       entry.name):
            shutil.rmtree(entry.path, ignore_errors=True)


def make(job: Job, config: Config) -> Problem | None:
    """Decode the source once; write each width in WebP and the fallback format, and the
    og crop; `done` (the list of files) last, so that a folder is complete or remade."""
    from PIL import Image, ImageOps

    use, folder = job.use, Path(job.folder)
    try:
        with Image.open(use.path) as opened:
            opened.load()
            turn = opened.format in EXIF_IN_HEADER  # as `probe` measured it
            image = ImageOps.exif_transpose(opened) if turn else opened.copy()
            icc = opened.info.get("icc_profile")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        return Problem(use.display, use.line,
                       f"cannot read the image {Path(use.path).name}: {exc}")
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    full_width, full_height = image.size
    for width in widths_for(full_width, config.image_widths):
        size = (width, scaled_height(full_width, full_height, width))
        resized = image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)
        for ext in dict.fromkeys((use.ext, "webp")):
            names.append(_save(resized, folder, f"{width}.{ext}", icc))
    names.append(_save(_og_crop(image), folder, "og.jpg", icc))
    replace_file(folder / "done", "\n".join(names).encode() + b"\n")
    return None


def _og_crop(image):  # noqa: ANN001, ANN202 (a PIL image)
    """The centre at 1200x630, the size share cards ask for (the one file that may be
    enlarged: a smaller card is shown small or not at all)."""
    from PIL import Image, ImageOps

    return ImageOps.fit(image, OG_SIZE, Image.Resampling.LANCZOS)


def _save(image, folder: Path, name: str, icc: bytes | None) -> str:  # noqa: ANN001
    """One derived file, with fixed encoder options and no metadata but the colour profile."""
    from io import BytesIO

    ext = name.rsplit(".", 1)[1]
    out = BytesIO()
    extra = {"icc_profile": icc} if icc else {}
    if ext == "jpg":
        _flat(image, "RGB").save(out, "JPEG", quality=JPEG_QUALITY, optimize=True,
                                 progressive=True, subsampling="4:2:0", **extra)
    elif ext == "webp":
        mode = "RGBA" if _has_alpha(image) else "RGB"
        image.convert(mode).save(out, "WEBP", quality=WEBP_QUALITY, method=4, **extra)
    else:
        mode = "RGBA" if _has_alpha(image) else "RGB"
        image.convert(mode if image.mode not in ("L", "LA") else image.mode).save(
            out, "PNG", optimize=False, compress_level=9, **extra)
    replace_file(folder / name, out.getvalue())
    return name


def _has_alpha(image) -> bool:  # noqa: ANN001
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def _flat(image, mode: str):  # noqa: ANN001, ANN202
    """The image on white when it has transparency (JPEG has none)."""
    from PIL import Image

    if not _has_alpha(image):
        return image.convert(mode)
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert(mode)


def filters(config: Config) -> dict[str, object]:
    """Jinja filters: `url | picture(width, height)` (a Picture or None) and `url | og_image`."""

    def picture_filter(url: str, width: int = 0, height: int = 0) -> Picture | None:
        return picture(str(url), int(width or 0), int(height or 0), config)

    return {"picture": picture_filter, "og_image": og_image}
