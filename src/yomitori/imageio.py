"""Safe image loading: one clear error naming the file and the problem, pixel limits enforced.

Pillow reads the header lazily, so the size is checked before any pixel is decoded: a
30,000 × 30,000 PNG is refused without allocating 900 MB.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from yomitori.errors import InputImageError

MAX_PIXELS = 100_000_000  # 100 MP: an A3 page at 600 dpi is ~70 MP


def open_image(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open and fully decode an image file, or raise InputImageError naming ``path``."""
    path = Path(path)
    if not path.exists():
        raise InputImageError(f"{path}: no such file")
    if path.is_dir():
        raise InputImageError(f"{path}: is a directory, not an image")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputImageError(f"{path}: cannot read ({exc.strerror})") from None
    if size == 0:
        raise InputImageError(f"{path}: empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
            w, h = img.size
            if w * h > max_pixels:
                raise InputImageError(f"{path}: image is {w} × {h} pixels, over the limit of {max_pixels:,}")
            img.load()
    except InputImageError:
        raise
    except PermissionError:
        raise InputImageError(f"{path}: permission denied") from None
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputImageError(f"{path}: not a readable image ({type(exc).__name__})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputImageError(f"{path}: corrupt or truncated image ({exc})") from None
    return img
