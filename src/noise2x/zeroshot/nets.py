"""Small networks and helpers shared by the zero-shot methods (MASH, ZS-N2N).

Both methods train a fresh network on the one image they denoise. This module
holds the two architectures and the few pieces both need: input checking, the
map of an image in small units to 8-bit units (:func:`units_map`), the
numpy <-> tensor conversion (8-bit units <-> [0,1]-scaled (1,C,H,W) float32),
a ``torch.Generator`` derived from the caller's ``rng`` and a weight
initialisation that draws from that generator (never from torch's global RNG).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError, UsageError
from ..io import pedestal, to_8bit_units
from ..noise import generator

__all__ = [
    "MaskedUNet",
    "NoiseNet",
    "check_noisy",
    "checked_in_8bit_units",
    "units_map",
    "make_generators",
    "new_network",
    "to_tensor",
    "from_tensor",
    "Reporter",
    "in_bands",
    "BAND_PIXELS",
    "PRECISIONS",
    "check_precision",
    "autocast",
    "zero_shot_device",
    "device_name",
    "zero_shot_preset",
]

_SCALE = 255.0

#: The zero-shot methods' ``precision``: ``fp32``, or ``bf16`` (their steps and predictions under
#: ``torch.autocast`` in bfloat16 on their device; the weights and Adam's state stay float32).
PRECISIONS = ("fp32", "bf16")


def whole(value: Any) -> int:
    """``value`` as an int where it is a whole number (2000, 2000.0, "2e3"); ValueError where it is not
    (``int()`` cut 1.5 to 1, and a zero-shot run took --set steps=1.5 as 1 step: an automation QA pass)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    number = float(value)
    if not number.is_integer():
        raise ValueError(f"expected a whole number, got {value!r}")
    return int(number)


def check_precision(precision: str, method: str) -> None:
    """A UsageError naming ``method`` unless ``precision`` is one of :data:`PRECISIONS`."""
    if precision not in PRECISIONS:
        raise UsageError(f"{method}: precision must be fp32 or bf16, got {precision!r}")


def autocast(precision: str, device: torch.device | str = "cpu") -> Any:
    """``torch.autocast`` in bfloat16 on ``device``'s kind for ``"bf16"``; a context doing nothing for ``"fp32"``."""
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=precision == "bf16")


def zero_shot_device(device: Any, method: str) -> torch.device:
    """The torch device a zero-shot method runs on: ``"auto"`` (a CUDA GPU when there is one, else the
    CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``; a UsageError naming ``method`` for one that
    is unknown or not available here.

    Only the arithmetic moves to the device: every random draw (initial weights, masks, crops, shuffles)
    comes from a generator on the CPU, so a seed gives the same draws on every device.
    """
    from ..predict import resolve_device

    try:
        return resolve_device(device)
    except UsageError as exc:
        raise UsageError(f"{method}: {exc}") from None


#: Inference on an image of more pixels than this runs in horizontal bands
#: (:func:`in_bands`), so that a large photo does not need the memory of the
#: whole image's feature maps at once.
BAND_PIXELS = 2**21


def check_noisy(noisy: Any, *, name: str = "noisy image", min_size: int = 4) -> np.ndarray:
    """Return ``noisy`` as float64 (H,W) or (H,W,C), or raise InputError.

    Parameters
    ----------
    noisy : array_like
        A (H,W) or (H,W,C) image in 8-bit units (values may lie outside [0,255]).
    name : str
        How the error message calls the input.
    min_size : int
        The smallest height and width accepted.

    Returns
    -------
    ndarray
        A float64 copy-free view when possible; the input is never modified.
    """
    arr = np.asarray(noisy)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InputError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and not 1 <= arr.shape[-1] <= 4):
        raise InputError(f"{name}: expected shape (H,W) or (H,W,C) with C in 1..4, got {arr.shape}")
    if min(arr.shape[:2]) < min_size:
        raise InputError(f"{name}: image is {arr.shape[0]}x{arr.shape[1]}, at least {min_size}x{min_size} is needed")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name}: contains NaN or infinite values")
    return arr


def units_map(image: np.ndarray) -> tuple[float, float]:
    """The map ``x -> (x - offset) * scale`` the zero-shot methods apply to their input, and undo on the result.

    An image in units smaller than 8-bit ([0, 1] data, a very dark image) is
    brought up to 8-bit units (:func:`noise2x.io.to_8bit_units`). Left as it
    was, a CBSD68 crop in [0, 1] came back from ZS-N2N as noisy as it went in
    (20.37 dB against 27.31 in 8-bit units) and from MASH noisier (19.09
    against 26.45). An image in 8-bit or larger units (16-bit data) is used
    as it is, ``(0, 1)``: both networks work at that scale, and mapping
    16-bit crops down to 8-bit units cost MASH 0.29 dB on average
    (BENCHMARKS.md, "Zero-shot: images in other units"); only a pedestal
    it sits on far from 0 (:func:`noise2x.io.pedestal`) is taken off.
    """
    offset, scale = to_8bit_units(image)
    return (offset, scale) if scale > 1 else (pedestal(image), 1.0)


def checked_in_8bit_units(noisy: Any, *, name: str) -> tuple[np.ndarray, dict[str, float]]:
    """:func:`check_noisy`, then :func:`units_map` applied: the image the methods work on, and the map.

    Returns the mapped float64 image and ``{"offset": ..., "scale": ...}``;
    a result ``y`` of the method goes back to the input's units as
    ``y / scale + offset``.
    """
    image = check_noisy(noisy, name=name)
    offset, scale = units_map(image)
    return (image - offset) * scale, {"offset": offset, "scale": scale}


def zero_shot_preset(preset: str, dev: torch.device, presets: dict[str, Any], method: str) -> str:
    """The preset a zero-shot method runs: ``auto`` is ``gpu`` on a CUDA GPU where the method has one (a longer
    training, for a GPU's speed: ZS-N2N) and ``cpu`` elsewhere (sized for a laptop's CPU); another name must be
    one of ``presets``."""
    if preset == "auto":
        preset = "gpu" if dev.type == "cuda" and "gpu" in presets else "cpu"
    if preset not in presets:
        raise UsageError(f"{method}: unknown preset '{preset}'; valid: auto, {', '.join(presets)}")
    return preset


def device_name(dev: torch.device) -> str:
    """``dev`` for a progress line: ``cuda:0 (NVIDIA H200)`` for a CUDA GPU, else its name."""
    if dev.type != "cuda":
        return str(dev)
    index = dev.index if dev.index is not None else torch.cuda.current_device()
    return f"cuda:{index} ({torch.cuda.get_device_name(index)})"


def to_tensor(image: np.ndarray, device: torch.device | str | None = None) -> torch.Tensor:
    """(H,W) or (H,W,C) numpy image in 8-bit units -> (1,C,H,W) float32 tensor in [0,1] units (on ``device``)."""
    arr = image[..., None] if image.ndim == 2 else image
    tensor = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1) / _SCALE, dtype=np.float32))[None]
    return tensor if device is None else tensor.to(device)


def from_tensor(tensor: torch.Tensor, like: np.ndarray) -> np.ndarray:
    """(1,C,H,W) tensor in [0,1] units (on any device) -> float64 numpy image of ``like``'s shape, in 8-bit units."""
    arr = tensor.detach()[0].cpu().to(torch.float64).numpy().transpose(1, 2, 0) * _SCALE  # (MPS has no float64)
    return np.ascontiguousarray(arr.reshape(like.shape))


def make_generators(rng: Any) -> tuple[np.random.Generator, torch.Generator]:
    """A numpy Generator and a torch Generator, both derived from ``rng`` (None, int or Generator).

    With an int the pair is reproducible; with a Generator, that generator is
    advanced (once) to seed the torch one.
    """
    np_rng = generator(rng)
    gen = torch.Generator().manual_seed(int(np_rng.integers(0, 2**62)))
    return np_rng, gen


def _init_weights(module: nn.Module, gen: torch.Generator) -> None:
    """PyTorch's default conv initialisation (kaiming-uniform, a=sqrt(5)), drawn from ``gen``."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=gen)
            if m.bias is not None:
                fan_in = m.weight.shape[1] * m.weight.shape[2] * m.weight.shape[3]
                bound = 1.0 / math.sqrt(fan_in)
                nn.init.uniform_(m.bias, -bound, bound, generator=gen)


def new_network(cls: type[nn.Module], *args: Any, gen: torch.Generator, device: torch.device | str | None = None,
                **kwargs: Any) -> nn.Module:
    """Build ``cls(*args, **kwargs)`` without touching torch's global RNG, initialised from ``gen`` (a CPU
    generator: the weights are drawn on the CPU, so a seed gives the same network on every ``device``)."""
    with torch.device("meta"):
        net = cls(*args, **kwargs)
    net = net.to_empty(device="cpu")
    with torch.no_grad():
        _init_weights(net, gen)
    return net if device is None else net.to(device)


def _conv(cin: int, cout: int, slope: float) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1), nn.LeakyReLU(slope)]


class MaskedUNet(nn.Module):
    """The Noise2Noise-style U-Net that MASH trains (5 poolings, ``width`` channels, LeakyReLU 0.1).

    The layout follows the MASH authors' network (itself the Noise2Noise U-Net):
    encoder convs of ``width`` channels, decoder convs of ``2*width``, a final
    64 -> 32 -> C head, nearest-neighbour upsampling and skip connections,
    including one from the input. Inputs of any size are reflect-padded to a
    multiple of 32 and the output is cropped back.

    Parameters
    ----------
    channels : int
        Image channels (in and out).
    width : int
        Encoder channels (48 in the paper).
    """

    def __init__(self, channels: int, width: int = 48) -> None:
        super().__init__()
        w, s = width, 0.1
        self.enc1 = nn.Sequential(*_conv(channels, w, s), *_conv(w, w, s), nn.MaxPool2d(2))
        self.enc2 = nn.Sequential(*_conv(w, w, s), nn.MaxPool2d(2))
        self.enc3 = nn.Sequential(*_conv(w, w, s), nn.MaxPool2d(2))
        self.enc4 = nn.Sequential(*_conv(w, w, s), nn.MaxPool2d(2))
        self.enc5 = nn.Sequential(*_conv(w, w, s), nn.MaxPool2d(2), *_conv(w, w, s), nn.Upsample(scale_factor=2))
        self.dec1 = nn.Sequential(*_conv(2 * w, 2 * w, s), *_conv(2 * w, 2 * w, s), nn.Upsample(scale_factor=2))
        self.dec2 = nn.Sequential(*_conv(3 * w, 2 * w, s), *_conv(2 * w, 2 * w, s), nn.Upsample(scale_factor=2))
        self.dec3 = nn.Sequential(*_conv(3 * w, 2 * w, s), *_conv(2 * w, 2 * w, s), nn.Upsample(scale_factor=2))
        self.dec4 = nn.Sequential(*_conv(3 * w, 2 * w, s), *_conv(2 * w, 2 * w, s), nn.Upsample(scale_factor=2))
        self.head = nn.Sequential(*_conv(2 * w + channels, 64, s), *_conv(64, 32, s), nn.Conv2d(32, channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        ph, pw = (-h) % 32, (-w) % 32
        if ph or pw:
            mode = "reflect" if ph < h and pw < w else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        p1 = self.enc1(x)
        p2 = self.enc2(p1)
        p3 = self.enc3(p2)
        p4 = self.enc4(p3)
        up = self.enc5(p4)
        up = self.dec1(torch.cat((up, p4), 1))
        up = self.dec2(torch.cat((up, p3), 1))
        up = self.dec3(torch.cat((up, p2), 1))
        up = self.dec4(torch.cat((up, p1), 1))
        out = self.head(torch.cat((up, x), 1))
        return out[..., :h, :w]


class NoiseNet(nn.Module):
    """ZS-N2N's tiny network: two 3x3 convs (``width`` channels, LeakyReLU 0.2) and a 1x1 conv.

    It predicts the noise; the denoised image is ``x - net(x)``.
    """

    def __init__(self, channels: int, width: int = 48) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        self.conv3 = nn.Conv2d(width, channels, 1)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(self.act(self.conv2(self.act(self.conv1(x)))))


class Reporter:
    """Sends at most ``lines`` evenly spaced progress lines for a loop of ``total`` steps."""

    def __init__(self, progress: Callable[[str], None] | None, label: str, total: int, lines: int = 5) -> None:
        self.progress, self.label, self.total = progress, label, total
        self.every = max(1, math.ceil(total / max(1, lines)))

    def due(self, i: int) -> bool:
        """Whether step ``i`` (0-based) gets a progress line."""
        done = i + 1
        return self.progress is not None and (done % self.every == 0 or done == self.total)

    def step(self, i: int, loss: float | None = None) -> None:
        """Report step ``i`` (0-based) when it is due."""
        if self.due(i):
            assert self.progress is not None
            tail = f", loss {loss:.4g}" if loss is not None else ""
            self.progress(f"{self.label}: step {i + 1}/{self.total}{tail}")


def in_bands(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, *, margin: int, align: int = 1,
             pixels: int | None = None) -> torch.Tensor:
    """``fn(x)`` for a (B,C,H,W) ``x``, computed on horizontal bands when ``x`` has many pixels.

    An image of at most ``pixels`` pixels (default :data:`BAND_PIXELS`) goes
    through ``fn`` whole. A larger one is cut into bands of whole rows, about
    ``pixels`` pixels each (a multiple of ``align`` rows); each band goes
    through ``fn`` with ``margin`` rows of context above and below, which are
    cropped from its output. With ``margin`` at least the receptive field's
    radius of a convolutional ``fn`` the result is the whole-image one; with
    a smaller margin it differs near the bands' edges. ``fn`` must keep the
    height and width.
    """
    limit = BAND_PIXELS if pixels is None else int(pixels)
    h, w = x.shape[-2:]
    if h * w <= limit:
        return fn(x)
    align = max(1, int(align))
    rows = max(align, (limit // w) // align * align)
    out: torch.Tensor | None = None
    for top in range(0, h, rows):
        bottom = min(h, top + rows)
        lo, hi = max(0, top - margin), min(h, bottom + margin)
        part = fn(x[..., lo:hi, :])
        if out is None:
            out = part.new_empty((*part.shape[:-2], h, w))
        out[..., top:bottom, :] = part[..., top - lo: bottom - lo, :]
    assert out is not None
    return out
