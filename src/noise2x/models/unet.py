"""The Noise2Noise paper's U-Net (Lehtinen et al. 2018, appendix A.1), configurable.

With the defaults (``width=48, depth=5``) it is the paper's network: two 3x3
convolutions then ``depth`` max-poolings with one convolution after each but
the last, a bottleneck convolution, and a decoder of nearest-neighbour
upsamplings, skip concatenations and pairs of ``2*width`` convolutions ending
in ``4/3*width`` and ``2/3*width`` convolutions (64 and 32 for width 48) and a
linear 3x3 output convolution. Leaky ReLU slope 0.1 throughout.

Options used by N2V2 (Höck et al. 2022): ``blurpool=True`` replaces max-pooling
with max-blur-pooling and ``top_skip=False`` drops the skip connection from the
input to the last decoder level.

Any input size works: the input is padded internally (reflection) to a multiple
of ``2**depth`` and the output is cropped back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

_SLOPE = 0.1


def _conv(cin: int, cout: int) -> nn.Conv2d:
    conv = nn.Conv2d(cin, cout, 3, padding=1)
    if not conv.weight.is_meta:  # (on the meta device, a shape check's build, normal_ imports torch._dynamo)
        nn.init.kaiming_normal_(conv.weight, a=_SLOPE, nonlinearity="leaky_relu")
    nn.init.zeros_(conv.bias)
    return conv


class _ConvAct(nn.Sequential):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(_conv(cin, cout), nn.LeakyReLU(_SLOPE, inplace=True))


class MaxBlurPool(nn.Module):
    """Max-pooling (2x2, stride 1) followed by a [1,2,1]^2/16 blur with stride 2 (Zhang 2019)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        k = torch.tensor([1.0, 2.0, 1.0])
        k = (k[:, None] * k[None, :]) / 16.0
        self.register_buffer("kernel", k.expand(channels, 1, 3, 3).clone(), persistent=False)
        self.channels = channels

    def forward(self, x: Tensor) -> Tensor:
        x = F.max_pool2d(F.pad(x, (0, 1, 0, 1), mode="replicate"), 2, stride=1)
        x = F.pad(x, (1, 1, 1, 1), mode="reflect")
        return F.conv2d(x, self.kernel, stride=2, groups=self.channels)


def pad_to_multiple(x: Tensor, m: int) -> Tensor:
    """``x`` (B, C, H, W) padded at the bottom and right to multiples of ``m`` (reflection; replication where the
    image is too small to reflect): a U-Net of ``log2(m)`` poolings takes any size so, its output cropped back."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % m, (-w) % m
    if ph or pw:
        mode = "reflect" if (ph < h and pw < w) else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x


class UNet(nn.Module):
    """U-Net of the Noise2Noise paper with configurable width and depth.

    Parameters
    ----------
    in_channels : int
        Input image channels.
    out_channels : int or None
        Output channels (default: ``in_channels``).
    width : int
        Encoder channels (48 in the paper); the decoder uses ``2 * width``.
    depth : int
        Number of poolings (5 in the paper), >= 1.
    blurpool : bool
        Max-blur-pooling instead of max-pooling (N2V2).
    top_skip : bool
        Concatenate the input to the last decoder level (False for N2V2).
    """

    def __init__(self, in_channels: int = 1, out_channels: int | None = None, *, width: int = 48,
                 depth: int = 5, blurpool: bool = False, top_skip: bool = True) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError("UNet depth must be >= 1")
        if width < 1 or in_channels < 1:
            raise ValueError("UNet width and in_channels must be >= 1")
        out_channels = in_channels if out_channels is None else out_channels
        self.depth, self.top_skip = int(depth), bool(top_skip)
        w, d = int(width), 2 * int(width)

        self.enc0 = nn.Sequential(_ConvAct(in_channels, w), _ConvAct(w, w))
        # encoder levels 2..depth: one convolution after each pooling but the last
        self.enc = nn.ModuleList(_ConvAct(w, w) for _ in range(depth - 1))
        self.pools = nn.ModuleList((MaxBlurPool(w) if blurpool else nn.MaxPool2d(2)) for _ in range(depth))
        self.bottom = _ConvAct(w, w)
        # decoder levels from the bottom: all but the last give 2w channels
        self.dec = nn.ModuleList()
        cin = w
        for _ in range(depth - 1):
            self.dec.append(nn.Sequential(_ConvAct(cin + w, d), _ConvAct(d, d)))
            cin = d
        top_in = cin + (in_channels if top_skip else 0)
        a, b = max(1, round(w * 4 / 3)), max(1, round(w * 2 / 3))
        self.dec_top = nn.Sequential(_ConvAct(top_in, a), _ConvAct(a, b))
        self.out = nn.Conv2d(b, out_channels, 3, padding=1)

    @property
    def alignment(self) -> int:
        """``2 ** depth``: shifting the input by a multiple of this keeps the pooling grid."""
        return 2 ** self.depth

    def forward(self, x: Tensor) -> Tensor:
        """Map (B, C_in, H, W) to (B, C_out, H, W) for any H, W."""
        h, w = x.shape[-2:]
        x = pad_to_multiple(x, 2 ** self.depth)
        skips = [x]
        n = self.pools[0](self.enc0(x))
        for conv, pool in zip(self.enc, self.pools[1:]):
            skips.append(n)
            n = pool(conv(n))
        n = self.bottom(n)
        for dec in self.dec:
            n = F.interpolate(n, scale_factor=2.0, mode="nearest")
            n = dec(torch.cat([n, skips.pop()], dim=1))
        n = F.interpolate(n, scale_factor=2.0, mode="nearest")
        top = skips.pop()
        if self.top_skip:
            n = torch.cat([n, top], dim=1)
        n = self.out(self.dec_top(n))
        return n[..., :h, :w]
