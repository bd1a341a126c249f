"""Picture grids: captions stay inside their panel."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from noise2x.figures import fit_caption, picture_grid
from noise2x.io import read_image


def test_captions_fit_their_panel(tmp_path):
    draw = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    short, font = fit_caption(draw, "noisy 20.85 dB", 14, 252)
    assert short == "noisy 20.85 dB" and font.size == 14
    long_text = "auto: model gray-gaussian on luminance/chrominance planes 29.04 dB"
    text, font = fit_caption(draw, long_text, 14, 252)
    assert draw.textlength(text, font=font) <= 252
    assert text == long_text or (text.endswith("…") and long_text.startswith(text[:-1]))
    tiny, font = fit_caption(draw, long_text, 14, 40)
    assert tiny.endswith("…") and draw.textlength(tiny, font=font) <= 40


def test_picture_grid_with_a_long_caption(tmp_path):
    panel = np.full((32, 40), 128.0)
    out = picture_grid([[panel, panel]], [["a", "a caption much longer than its forty-pixel panel"]],
                       tmp_path / "g.png")
    img = read_image(out)
    assert img.shape[0] > 32 and img.shape[1] >= 80
    # nothing is drawn in the white gap right of the second panel's caption area
    assert np.all(img[:20, -2:] == 255)
