"""The blind-spot U-Net of Laine et al. 2019 ("High-Quality Self-Supervised Deep Image Denoising").

Every output pixel is computed from all input pixels except itself, by
construction, so a self-supervised loss can use every pixel of every patch.

How the blind spot is built (as in NVlabs/selfsupervised-denoising):

* the trunk is the Noise2Noise U-Net whose 3x3 convolutions are *shifted*:
  padded with two rows at the top and none at the bottom, so the receptive
  field of output row ``r`` holds input rows ``<= r`` only (a half-plane that
  still includes the pixel's own row);
* before each 2x2 max-pooling the features are shifted down by one row, so
  pooling never mixes a row with the rows below it;
* after the last decoder convolution the features are shifted down by one
  more row: now output row ``r`` sees rows ``< r`` only, strictly above the pixel;
* the trunk runs on the four 90-degree rotations of the input (one batch),
  its four outputs are rotated back and concatenated on the channel axis (four
  half-planes: above, left, below, right) and merged by three 1x1 convolutions,
  which cannot reach the centre pixel either.

Efficiency (what keeps the CPU cost per step down): each shifted convolution
is one ``F.pad`` (top 2 rows, 1 column each side; a negative pad crops) and one
unpadded convolution; the one-row shifts before pooling and at the end are
folded into the padding of the convolution before them (pad 3 at the top, crop
1 at the bottom), so they cost no extra copy; the rotations run as one batch
(two batches for non-square inputs, see below); channels-last tensors work
throughout; the widths of the encoder, decoder and 1x1 head are separate
arguments so a CPU preset can narrow the full-resolution layers that dominate
the cost.

Sizes: any H, W. The input is zero-padded at the bottom and right to a
multiple of ``2 ** depth`` (zeros, never reflection: a reflected border would
copy a pixel into its own receptive field). Square inputs run their four
rotations as one batch; non-square ones run (0, 180) and (90, 270) degrees as
two batches of the two shapes, which is the same function without padding to
a square.

Outputs (``forward(x, full=True)``), in the input's (normalised) units:
``C`` means ``mu`` followed by ``C (C + 1) / 2`` entries of an upper-triangular
factor ``A`` (row-major: a00, a01, a02, a11, a12, a22 for RGB) with prior
covariance ``Sigma_x = A A^T`` (gray: one value ``a``, variance ``a^2``).
``forward(x)`` returns ``mu`` only, so the wrapped model is itself a denoiser.

Noise parameters learned with the network (``noise_params``): "global" adds one
scalar parameter, "per_image" a small ordinary U-Net whose output is averaged
over the image (its last convolution starts at zero, as in the reference
code). :meth:`BlindSpotNet.noise_estimate` returns the raw value, multiplied by
``noise_gain`` (a larger effective learning rate for this one quantity, so a
short CPU run can learn it); the method maps it to a positive noise level.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .unet import UNet

_SLOPE = 0.1
NOISE_PARAMS = ("none", "global", "per_image")


def factor_size(channels: int) -> int:
    """Number of entries of the upper-triangular factor for ``channels`` channels: C (C + 1) / 2."""
    return channels * (channels + 1) // 2


def _init(layer: nn.Module, gain: float = math.sqrt(2.0)) -> nn.Module:
    """He initialisation with the reference code's gain (sqrt 2, or 1 for the linear output)."""
    fan_in = layer.weight[0].numel()
    if not layer.weight.is_meta:  # (on the meta device, a shape check's build, normal_ imports torch._dynamo)
        nn.init.normal_(layer.weight, 0.0, gain / math.sqrt(fan_in))
    nn.init.zeros_(layer.bias)
    return layer


class ShiftConv(nn.Module):
    """3x3 convolution whose receptive field ends at the output row (``shift=0``) or the row above (``shift=1``).

    Implemented as one pad (1 column each side, ``2 + shift`` rows at the top,
    ``-shift`` at the bottom, i.e. cropped) and an unpadded convolution.
    """

    def __init__(self, cin: int, cout: int, *, shift: int = 0) -> None:
        super().__init__()
        self.conv = _init(nn.Conv2d(cin, cout, 3))
        self.pad = (1, 1, 2 + shift, -shift)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.pad(x, self.pad))


def _act(x: Tensor) -> Tensor:
    return F.leaky_relu(x, _SLOPE, inplace=True)


def _formatted(x: Tensor, fmt: torch.memory_format) -> Tensor:
    """``x`` in memory format ``fmt``; channels-last strides even for one channel, so that
    concatenations with it stay channels-last."""
    if fmt == torch.contiguous_format:
        return x.contiguous()
    return torch.empty_like(x, memory_format=fmt).copy_(x)


def _rot(x: Tensor, k: int) -> Tensor:
    """Rotate (..., H, W) by ``k`` quarter turns (counter-clockwise for k > 0)."""
    return torch.rot90(x, k, dims=(-2, -1)) if k % 4 else x


class BlindSpotNet(nn.Module):
    """Blind-spot U-Net with four rotated branches and a 1x1 head (see the module docstring).

    Parameters
    ----------
    in_channels : int
        Image channels C (1 gray, 3 RGB; any C works).
    width : int
        Encoder channels (48 in the paper).
    dec_width : int or None
        Decoder channels (default ``2 * width``: 96 in the paper).
    depth : int
        Number of poolings (5 in the paper), >= 1.
    head_width : int or None
        Channels of the first 1x1 layer of the head (default ``4 * dec_width``:
        384 in the paper); the second has ``dec_width``.
    noise_params : {"none", "global", "per_image"}
        Learned noise parameter held by the network (see the module docstring).
    aux_width, aux_depth : int
        Size of the per-image noise estimation U-Net (``noise_params="per_image"``).
    noise_gain : float
        Multiplier of the learned noise parameter (effective learning-rate boost).
    """

    def __init__(self, in_channels: int = 1, *, width: int = 48, dec_width: int | None = None, depth: int = 5,
                 head_width: int | None = None, noise_params: str = "none", aux_width: int = 16,
                 aux_depth: int = 2, noise_gain: float = 10.0) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError("BlindSpotNet depth must be >= 1")
        dec_width = 2 * width if dec_width is None else dec_width
        head_width = 4 * dec_width if head_width is None else head_width
        if min(in_channels, width, dec_width, head_width) < 1:
            raise ValueError("BlindSpotNet in_channels and widths must be >= 1")
        if noise_params not in NOISE_PARAMS:
            raise ValueError(f"noise_params={noise_params!r} is not valid; valid: {', '.join(NOISE_PARAMS)}")
        c, w, d = int(in_channels), int(width), int(dec_width)
        self.in_channels, self.depth = c, int(depth)
        self.out_channels = c + factor_size(c)
        self.noise_params, self.noise_gain = noise_params, float(noise_gain)

        self.enc0 = ShiftConv(c, w)
        # one convolution before each pooling (the first is enc_conv1 of the paper); shift folded in
        self.enc = nn.ModuleList(ShiftConv(w, w, shift=1) for _ in range(depth))
        self.bottom = ShiftConv(w, w)
        self.dec = nn.ModuleList()
        cin = w
        for level in range(depth):  # from the bottom; the last level concatenates the input itself
            skip = c if level == depth - 1 else w
            last = level == depth - 1
            self.dec.append(nn.ModuleList([ShiftConv(cin + skip, d), ShiftConv(d, d, shift=1 if last else 0)]))
            cin = d
        # the 1x1 head as linear layers on channel-last pixels (one matrix product each)
        self.head = nn.ModuleList([_init(nn.Linear(4 * d, head_width)), _init(nn.Linear(head_width, d)),
                                   _init(nn.Linear(d, self.out_channels), gain=1.0)])

        if noise_params == "global":
            self.noise_param = nn.Parameter(torch.zeros(1))
        elif noise_params == "per_image":
            self.noise_net = UNet(c, 1, width=int(aux_width), depth=int(aux_depth))
            nn.init.zeros_(self.noise_net.out.weight)
            nn.init.zeros_(self.noise_net.out.bias)

    @property
    def alignment(self) -> int:
        """``2 ** depth``: tiles starting at multiples of this see the same pooling grid."""
        return 2 ** self.depth

    # -- the trunk ------------------------------------------------------------
    def _trunk(self, x: Tensor) -> Tensor:
        """Features (N, dec_width, H, W) of rotated inputs; row r sees only rows < r (H, W multiples of 2**depth)."""
        skips = [x]
        n = _act(self.enc0(x))
        for conv in self.enc:
            n = F.max_pool2d(_act(conv(n)), 2)  # conv includes the one-row shift before pooling
            skips.append(n)
        skips.pop()  # the deepest pooled map feeds the bottleneck, not a skip
        n = _act(self.bottom(n))
        for conv_a, conv_b in self.dec:
            n = F.interpolate(n, scale_factor=2.0, mode="nearest")
            n = _act(conv_a(torch.cat([n, skips.pop()], dim=1)))
            n = _act(conv_b(n))  # the last one includes the final one-row shift
        return n

    def forward(self, x: Tensor, *, full: bool = False) -> Tensor:
        """Blind-spot prediction for (B, C, H, W), any H, W.

        Returns ``mu`` (B, C, H, W), or with ``full=True`` ``mu`` and the
        covariance factor (B, C + C (C + 1) / 2, H, W).
        """
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"BlindSpotNet expects (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        b, _, h, w = x.shape
        m = 2 ** self.depth
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))  # zeros: any reflection would leak a pixel into its own field
        # the memory format the convolutions were given (model.to(memory_format=...)), kept throughout
        weight = self.bottom.conv.weight
        fmt = torch.channels_last if weight.is_contiguous(memory_format=torch.channels_last) and not \
            weight.is_contiguous() else torch.contiguous_format
        if x.shape[-2] == x.shape[-1]:
            f = self._trunk(_formatted(torch.cat([_rot(x, k) for k in range(4)], dim=0), fmt))
            parts = [_rot(p, -k) for k, p in enumerate(f.split(b, dim=0))]
        else:  # two batches of the two shapes: (0, 180) and (90, 270) degrees
            f0 = self._trunk(_formatted(torch.cat([x, _rot(x, 2)], dim=0), fmt)).split(b, dim=0)
            f1 = self._trunk(_formatted(torch.cat([_rot(x, 1), _rot(x, 3)], dim=0), fmt)).split(b, dim=0)
            parts = [f0[0], _rot(f1[0], -1), _rot(f0[1], -2), _rot(f1[1], -3)]
        # concatenate the four half-planes channel-last (B, H, W, 4 * dec_width): one copy, then matrix products
        n = torch.cat([p.permute(0, 2, 3, 1) for p in parts], dim=-1)
        n = _act(self.head[0](n))
        n = _act(self.head[1](n))
        n = self.head[2](n).permute(0, 3, 1, 2)[..., :h, :w]  # a channels-last view (B, C_out, H, W)
        return n if full else n[:, :self.in_channels]

    # -- learned noise ---------------------------------------------------------
    def noise_estimate(self, x: Tensor) -> Tensor:
        """The raw learned noise value (B, 1, 1, 1) for input ``x`` (normalised units), times ``noise_gain``.

        Raises
        ------
        ValueError
            The network was built with ``noise_params="none"``.
        """
        if self.noise_params == "global":
            return (self.noise_gain * self.noise_param).reshape(1, 1, 1, 1).expand(x.shape[0], 1, 1, 1)
        if self.noise_params == "per_image":
            return self.noise_gain * self.noise_net(x).mean(dim=(2, 3), keepdim=True)
        raise ValueError("this BlindSpotNet learns no noise parameter (built with noise_params='none')")

    def extra_repr(self) -> str:
        return f"in_channels={self.in_channels}, depth={self.depth}, noise_params={self.noise_params!r}"
