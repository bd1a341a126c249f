"""The U-Net of CSBDeep (CARE, Weigert et al. 2018), which the Noise2Void reference code trains.

Per level ``n`` of ``depth`` (from the top): ``convs`` 3x3 convolutions of ``width * 2**n`` channels, each followed
by batch normalisation (``batchnorm``) and ReLU, then a 2x2 max-pooling. In the middle, ``convs - 1``
convolutions of ``width * 2**depth`` channels and one of ``width * 2**(depth-1)``. Up each level ``n`` (from the
bottom): nearest-neighbour upsampling, concatenation with the level's skip, ``convs - 1`` convolutions of
``width * 2**n`` and one of ``width * 2**max(0, n-1)`` channels. A linear 1x1 convolution gives the output, plus
the input where ``residual``. Noise2Void's BSD68 reproduction: ``depth=2, width=96, batchnorm=True,
residual=True`` (CSBDeep's ``n_conv_per_depth=2``, 3x3 kernels, ReLU, Glorot-uniform initial weights).

Any input size works: the input is padded internally (reflection) to a multiple of ``2**depth`` and the output is
cropped back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .unet import pad_to_multiple


def _block(cin: int, cout: int, batchnorm: bool) -> nn.Sequential:
    conv = nn.Conv2d(cin, cout, 3, padding=1)
    nn.init.xavier_uniform_(conv.weight)
    nn.init.zeros_(conv.bias)
    layers: list[nn.Module] = [conv]
    if batchnorm:
        layers.append(nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01))  # (Keras' defaults, as CSBDeep runs it)
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class CAREUNet(nn.Module):
    """CSBDeep's U-Net (see the module docstring).

    Parameters
    ----------
    in_channels : int
        Input image channels.
    out_channels : int or None
        Output channels (default: ``in_channels``).
    width : int
        Channels of the top level (CSBDeep's ``n_filter_base``; 96 in Noise2Void's BSD68 reproduction).
    depth : int
        Number of poolings (``n_depth``), >= 1.
    convs : int
        Convolutions per level (``n_conv_per_depth``), >= 1.
    batchnorm : bool
        Batch normalisation after each 3x3 convolution.
    residual : bool
        Add the input to the output (needs ``out_channels == in_channels``).
    """

    def __init__(self, in_channels: int = 1, out_channels: int | None = None, *, width: int = 96, depth: int = 2,
                 convs: int = 2, batchnorm: bool = True, residual: bool = True) -> None:
        super().__init__()
        out_channels = in_channels if out_channels is None else out_channels
        if depth < 1 or convs < 1 or width < 1 or in_channels < 1:
            raise ValueError("CAREUNet depth, convs, width and in_channels must be >= 1")
        if residual and out_channels != in_channels:
            raise ValueError("a residual CAREUNet needs out_channels == in_channels")
        self.depth, self.residual = int(depth), bool(residual)
        feats = [int(width) * 2 ** n for n in range(depth + 1)]
        self.down = nn.ModuleList()
        cin = in_channels
        for n in range(depth):
            self.down.append(nn.Sequential(*(_block(cin if i == 0 else feats[n], feats[n], batchnorm)
                                             for i in range(convs))))
            cin = feats[n]
        middle = [_block(cin if i == 0 else feats[depth], feats[depth], batchnorm) for i in range(convs - 1)]
        mid_in = feats[depth] if convs > 1 else cin
        middle.append(_block(mid_in, feats[max(0, depth - 1)], batchnorm))
        self.middle = nn.Sequential(*middle)
        self.up = nn.ModuleList()
        cin = feats[max(0, depth - 1)]
        for n in reversed(range(depth)):
            layers = [_block((cin + feats[n]) if i == 0 else feats[n], feats[n], batchnorm) for i in range(convs - 1)]
            last_in = feats[n] if convs > 1 else cin + feats[n]
            layers.append(_block(last_in, feats[max(0, n - 1)], batchnorm))
            self.up.append(nn.Sequential(*layers))
            cin = feats[max(0, n - 1)]
        self.out = nn.Conv2d(cin, out_channels, 1)
        nn.init.xavier_uniform_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    @property
    def alignment(self) -> int:
        """``2 ** depth``: shifting the input by a multiple of this keeps the pooling grid."""
        return 2 ** self.depth

    def forward(self, x: Tensor) -> Tensor:
        """Map (B, C_in, H, W) to (B, C_out, H, W) for any H, W."""
        h, w = x.shape[-2:]
        skips = []
        n = pad_to_multiple(x, 2 ** self.depth)
        for level in self.down:
            n = level(n)
            skips.append(n)
            n = F.max_pool2d(n, 2)
        n = self.middle(n)
        for level in self.up:
            n = F.interpolate(n, scale_factor=2.0, mode="nearest")
            n = level(torch.cat([n, skips.pop()], dim=1))
        n = self.out(n)[..., :h, :w]
        return n + x if self.residual else n
