"""Picture grids for the demo, benchmarks and the README (numpy + Pillow, no torch)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .errors import UsageError


def _to_rgb8(image: np.ndarray, data_range: float) -> np.ndarray:
    arr = np.asarray(image, dtype=np.float64)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    elif arr.ndim == 3 and arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise UsageError(f"a grid panel must be (H,W) or (H,W,3), got shape {np.shape(image)}")
    return np.clip(np.round(arr * (255.0 / data_range)), 0, 255).astype(np.uint8)


def fit_caption(draw: Any, text: str, size: int, width: int, smallest: int = 9) -> tuple[str, Any]:
    """``text`` and a font that draw it within ``width`` pixels: a smaller font, then cut with an ellipsis."""
    for s in range(size, smallest - 1, -1):
        font = ImageFont.load_default(size=s)
        if draw.textlength(text, font=font) <= width:
            return text, font
    while len(text) > 1 and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…", font


def picture_grid(
    rows: Sequence[Sequence[np.ndarray]],
    captions: Sequence[Sequence[str]],
    path: str | Path,
    *,
    data_range: float = 255.0,
    gap: int = 6,
    caption_height: int = 22,
) -> Path:
    """Write a grid of images with a caption above each, as a PNG (atomically).

    Parameters
    ----------
    rows : sequence of sequences of ndarray
        ``rows[r][c]`` is a (H,W) or (H,W,3) image in units of ``data_range``;
        panels of a row may differ in size (each cell takes the row's largest).
    captions : sequence of sequences of str
        One caption per panel.
    path : str or Path
        The PNG to write.

    Returns
    -------
    Path
        ``path``.
    """
    from .io import write_image

    if len(rows) != len(captions) or any(len(r) != len(c) for r, c in zip(rows, captions)):
        raise UsageError("picture_grid needs one caption per panel")
    panels = [[_to_rgb8(im, data_range) for im in row] for row in rows]
    ncols = max(len(r) for r in panels)
    cell_w = max(p.shape[1] for r in panels for p in r)
    row_h = [max(p.shape[0] for p in r) for r in panels]
    width = ncols * cell_w + (ncols + 1) * gap
    height = sum(h + caption_height for h in row_h) + (len(panels) + 1) * gap
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    size = max(10, caption_height - 8)
    y = gap
    for r, row in enumerate(panels):
        for c, panel in enumerate(row):
            x = gap + c * (cell_w + gap)
            text, font = fit_caption(draw, captions[r][c], size, cell_w - 4)
            draw.text((x + 2, y + 2), text, fill="black", font=font)
            canvas.paste(Image.fromarray(panel), (x, y + caption_height))
        y += row_h[r] + caption_height + gap
    out = Path(path)
    write_image(out, np.asarray(canvas, dtype=np.float64), kind="uint8")
    return out
