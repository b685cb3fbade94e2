"""yomitori (読み取り): Japanese document OCR built with PyTorch.

The public API is small: :func:`read` turns a PDF or an image into a :class:`Document`.
Heavy modules are imported lazily so that ``yomitori comments`` never imports torch.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "read"]


def read(path, **kwargs):  # noqa: ANN001 - thin lazy wrapper
    """Read a PDF or image file and return a :class:`yomitori.document.Document`."""
    from yomitori.pipeline.run import read as _read

    return _read(path, **kwargs)
