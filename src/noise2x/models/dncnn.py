"""DnCNN (Zhang et al. 2017): 17 convolution layers, batch normalisation, residual output."""

from __future__ import annotations

from torch import Tensor, nn


class DnCNN(nn.Module):
    """DnCNN: conv+ReLU, ``depth - 2`` x (conv+BN+ReLU), conv; predicts the noise.

    Parameters
    ----------
    in_channels : int
        Input image channels.
    out_channels : int or None
        Output channels (default: ``in_channels``).
    depth : int
        Number of convolution layers (17 in the paper), >= 2.
    width : int
        Feature channels (64 in the paper).
    batchnorm : bool
        Batch normalisation in the middle layers.
    residual : bool
        Return ``x - net(x)`` (the paper's residual learning); needs equal in/out channels.
    """

    def __init__(self, in_channels: int = 1, out_channels: int | None = None, *, depth: int = 17,
                 width: int = 64, batchnorm: bool = True, residual: bool = True) -> None:
        super().__init__()
        out_channels = in_channels if out_channels is None else out_channels
        if depth < 2:
            raise ValueError("DnCNN depth must be >= 2")
        if residual and out_channels != in_channels:
            raise ValueError("a residual DnCNN needs out_channels == in_channels")
        self.residual = bool(residual)
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers.append(nn.Conv2d(width, width, 3, padding=1, bias=not batchnorm))
            if batchnorm:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Conv2d(width, out_channels, 3, padding=1))
        for m in layers:
            if isinstance(m, nn.Conv2d) and not m.weight.is_meta:  # (meta: normal_ imports torch._dynamo)
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        self.body = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """Map (B, C, H, W) to (B, C_out, H, W)."""
        n = self.body(x)
        return x - n if self.residual else n
