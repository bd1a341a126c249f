"""Adversarial denoisers: generator + discriminator pairs, and a VGG16 feature extractor.

Two architectures hold a generator (the denoiser; ``forward`` runs it) and a
discriminator (only used by the adversarial loss of ``noise2x.methods.gan``):

``gan`` -- :class:`GANPair`, after ImageDenoisingGAN (github
manumathewthomas/ImageDenoisingGAN):

* generator (:class:`GANGenerator`): conv-BN-leaky ReLU(0.2) blocks 9x9 -> w,
  3x3 -> 2w, 3x3 -> 4w (w = 32), 3 residual blocks (two such blocks plus the
  identity), two up-sampling layers (nearest resize to the skip's size + 3x3
  conv-BN-leaky ReLU, or a sub-pixel convolution) to 2w and w, each added to
  the encoder layer of the same size (skip connections), a 9x9 output
  convolution, ``tanh``, and a global residual: ``out = x + r * tanh(...)``
  (``r = residual_range``, 1 normalised unit by default, as in the reference).
  ``down=1`` keeps every layer at full resolution as the reference code does
  (about 2 MFLOP per pixel at w = 32); ``down=2`` makes the second and third
  encoder convolutions stride 2, so the residual blocks run at a quarter of the
  resolution and the up-sampling layers up-sample (about 10x cheaper: the CPU
  preset). Any image size works, odd ones included (up-sampled maps are
  resized or cropped to the skip's size).
* discriminator (:class:`PatchDiscriminator`): five 4x4 convolutions with
  48, 96, 192 channels at stride 2 and 384, 1 at stride 1 (TensorFlow "SAME"
  padding), batch normalisation on the three inner ones, leaky ReLU(0.2); it
  returns a map of real/fake logits (one per patch).

``wgan`` -- :class:`WGANPair`, after iteapoy/GANDenoising: a DnCNN-like residual
generator (:class:`~noise2x.models.dncnn.DnCNN`, 17 layers of 64) and a critic
(:class:`Critic`: seven 3x3 convolutions 64, 64/2, 128, 128/2, 256, 256/2, 1,
batch normalisation on the inner ones, leaky ReLU, a linear score map).

Departures from the reference code, each for a stated reason: the
discriminators have no batch normalisation on the first and last layer (on the
last one it would normalise the real and the fake batches' scores to the same
mean, removing the signal) and return logits (the loss applies the sigmoid
stably); the generator's output convolution has no batch normalisation (it
would force the residual to unit variance per batch); the reference's first
up-sampling layer halves the resolution of a full-resolution network (256 ->
128 -> 256), which looks unintended: with ``down=1`` the layers stay at full
resolution. Also unlike it (a method review listed them): the second up-sampling
layer's output is added to the second encoder layer's as well (the reference adds
only the last one's to the first encoder layer's; kept, since saved models were
trained with it, and it only adds a path); the output is ``x + r * tanh(...)`` in
normalised units, not the reference's ``(x + tanh(BN(...)) + 1) / 2`` (which maps
to [0, 1] while its targets are standardised per image); the convolutions start
from Kaiming-normal weights and the output layer near zero (the network starts
near the identity), not N(0, 0.03).

Model files keep both networks, so that ``--resume`` continues the adversarial
game with the trained discriminator; denoising uses only the generator.

:class:`VGGFeatures` is VGG16 up to relu2_2 (the reference's conv2_2 feature
loss), loaded from torchvision's standard ``vgg16`` weight file by
:func:`load_vgg_features` (no torchvision, no download).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import InputError, UsageError
from .dncnn import DnCNN

UPSAMPLING = ("resize", "subpixel")
SLOPE = 0.2


def same_pad(x: Tensor, kernel: int, stride: int) -> Tensor:
    """Zero-pad ``x`` (B, C, H, W) as TensorFlow's "SAME": the output of the conv is ceil(size / stride)."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):  # F.pad wants the last dimension first
        out = -(-size // stride)
        total = max((out - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class ConvBlock(nn.Module):
    """Convolution, optional batch normalisation, optional leaky ReLU(0.2); output size ceil(size / stride).

    Even kernels (the discriminator's 4x4) are padded as TensorFlow's "SAME";
    odd ones symmetrically by ``kernel // 2``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int, *, stride: int = 1,
                 batchnorm: bool = True, act: bool = True) -> None:
        super().__init__()
        self.kernel, self.stride = int(kernel), int(stride)
        # odd kernels: the convolution's own symmetric padding (no copy) gives ceil(size / stride) too
        self.pad_input = self.kernel % 2 == 0
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride, bias=not batchnorm,
                              padding=0 if self.pad_input else self.kernel // 2)
        self.bn = nn.BatchNorm2d(out_channels) if batchnorm else None
        self.act = bool(act)
        if not self.conv.weight.is_meta:  # (on the meta device normal_ imports torch._dynamo)
            nn.init.kaiming_normal_(self.conv.weight, a=SLOPE if act else 1.0, nonlinearity="leaky_relu")
        if self.conv.bias is not None:
            nn.init.zeros_(self.conv.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Map (B, C_in, H, W) to (B, C_out, ceil(H / stride), ceil(W / stride))."""
        y = self.conv(same_pad(x, self.kernel, self.stride) if self.pad_input else x)
        if self.bn is not None:
            y = self.bn(y)
        return F.leaky_relu(y, SLOPE) if self.act else y


class ResidualBlock(nn.Module):
    """Two 3x3 conv-BN-leaky ReLU blocks plus the identity (as the reference's residual layer)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.a = ConvBlock(channels, channels, 3)
        self.b = ConvBlock(channels, channels, 3)

    def forward(self, x: Tensor) -> Tensor:
        """Same shape in and out."""
        return x + self.b(self.a(x))


class UpBlock(nn.Module):
    """Up-sample by ``factor`` to a given size: nearest resize + 3x3 conv block, or sub-pixel convolution.

    ``"subpixel"``: a 3x3 convolution to ``factor**2`` times the channels, pixel
    shuffle, crop to the target size, batch normalisation, leaky ReLU.
    """

    def __init__(self, in_channels: int, out_channels: int, *, factor: int, mode: str) -> None:
        super().__init__()
        self.factor, self.mode = int(factor), mode
        if mode == "subpixel" and factor > 1:
            self.conv = ConvBlock(in_channels, out_channels * factor * factor, 3, batchnorm=False, act=False)
            self.bn = nn.BatchNorm2d(out_channels)
        else:
            self.conv = ConvBlock(in_channels, out_channels, 3)
            self.bn = None

    def forward(self, x: Tensor, size: tuple[int, int]) -> Tensor:
        """(B, C_in, h, w) -> (B, C_out, *size)."""
        if self.bn is not None:
            y = F.pixel_shuffle(self.conv(x), self.factor)[..., :size[0], :size[1]]
            return F.leaky_relu(self.bn(y), SLOPE)
        if tuple(x.shape[-2:]) != tuple(size):
            x = F.interpolate(x, size=size, mode="nearest")
        return self.conv(x)


class GANGenerator(nn.Module):
    """The ImageDenoisingGAN generator (see the module docstring).

    Parameters
    ----------
    in_channels : int
        Image channels (input and output: the output adds to the input).
    width : int
        Channels of the first block (w); then 2w, 4w (32 in the reference).
    res_blocks : int
        Residual blocks at 4w channels (3).
    down : {1, 2}
        Stride of the second and third encoder convolutions (1 in the reference).
    upsample : {"resize", "subpixel"}
        Nearest resize + convolution (the reference code), or sub-pixel
        convolution (the write-up; the same as "resize" when ``down=1``).
    residual_range : float
        The correction ``tanh(...)`` is scaled by this (normalised units).
    """

    def __init__(self, in_channels: int = 1, *, width: int = 32, res_blocks: int = 3, down: int = 1,
                 upsample: str = "resize", residual_range: float = 1.0) -> None:
        super().__init__()
        if width < 1 or res_blocks < 0:
            raise ValueError("width must be >= 1 and res_blocks >= 0")
        if down not in (1, 2):
            raise ValueError(f"down must be 1 or 2, got {down}")
        if upsample not in UPSAMPLING:
            raise ValueError(f"upsample={upsample!r} is not valid; valid: {', '.join(UPSAMPLING)}")
        if not residual_range > 0:
            raise ValueError(f"residual_range must be > 0, got {residual_range}")
        w = int(width)
        self.residual_range = float(residual_range)
        self.enc1 = ConvBlock(in_channels, w, 9)
        self.enc2 = ConvBlock(w, 2 * w, 3, stride=down)
        self.enc3 = ConvBlock(2 * w, 4 * w, 3, stride=down)
        self.res = nn.Sequential(*[ResidualBlock(4 * w) for _ in range(res_blocks)])
        self.up2 = UpBlock(4 * w, 2 * w, factor=down, mode=upsample)
        self.up1 = UpBlock(2 * w, w, factor=down, mode=upsample)
        self.out = nn.Conv2d(w, in_channels, 9, padding=4)
        # start close to the identity: a small correction at first
        if not self.out.weight.is_meta:  # (on the meta device normal_ imports torch._dynamo)
            nn.init.normal_(self.out.weight, std=0.1 / math.sqrt(81 * w))
        nn.init.zeros_(self.out.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Denoise (B, C, H, W) normalised -> (B, C, H, W) normalised."""
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        r = self.res(self.enc3(e2))
        d2 = self.up2(r, tuple(e2.shape[-2:])) + e2
        d1 = self.up1(d2, tuple(e1.shape[-2:])) + e1
        return x + self.residual_range * torch.tanh(self.out(d1))


class PatchDiscriminator(nn.Module):
    """The ImageDenoisingGAN discriminator: 4x4 convs w, 2w, 4w (stride 2), 8w, 1 (stride 1); logits map.

    Parameters
    ----------
    in_channels : int
        Image channels.
    width : int
        Channels of the first convolution (48 in the reference).
    """

    def __init__(self, in_channels: int = 1, *, width: int = 48) -> None:
        super().__init__()
        if width < 1:
            raise ValueError("width must be >= 1")
        w = int(width)
        self.body = nn.Sequential(
            ConvBlock(in_channels, w, 4, stride=2, batchnorm=False),
            ConvBlock(w, 2 * w, 4, stride=2),
            ConvBlock(2 * w, 4 * w, 4, stride=2),
            ConvBlock(4 * w, 8 * w, 4),
            ConvBlock(8 * w, 1, 4, batchnorm=False, act=False),
        )

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, 1, ceil(H/8), ceil(W/8)) real/fake logits."""
        return self.body(x)


class Critic(nn.Module):
    """The WGAN critic of iteapoy/GANDenoising: 3x3 convs w, w/2, 2w, 2w/2, 4w, 4w/2, 1 (``/2``: stride 2).

    Batch normalisation on the five inner convolutions, leaky ReLU(0.2), a
    linear score map (no sigmoid: a Wasserstein critic's scores are unbounded).
    """

    def __init__(self, in_channels: int = 1, *, width: int = 64) -> None:
        super().__init__()
        if width < 1:
            raise ValueError("width must be >= 1")
        w = int(width)
        spec = [(in_channels, w, 1), (w, w, 2), (w, 2 * w, 1), (2 * w, 2 * w, 2), (2 * w, 4 * w, 1),
                (4 * w, 4 * w, 2)]
        layers = [ConvBlock(a, b, 3, stride=s, batchnorm=i > 0) for i, (a, b, s) in enumerate(spec)]
        layers.append(ConvBlock(4 * w, 1, 3, batchnorm=False, act=False))
        self.body = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, 1, ceil(H/8), ceil(W/8)) scores."""
        return self.body(x)


class GANPair(nn.Module):
    """Architecture ``gan``: :class:`GANGenerator` + :class:`PatchDiscriminator`; ``forward`` denoises.

    Parameters
    ----------
    in_channels, out_channels : int
        Image channels (``out_channels`` must equal ``in_channels``).
    width, res_blocks, down, upsample, residual_range
        Of the generator (see :class:`GANGenerator`).
    d_width : int
        Channels of the discriminator's first convolution (48).
    """

    def __init__(self, in_channels: int = 1, out_channels: int | None = None, *, width: int = 32,
                 res_blocks: int = 3, down: int = 1, upsample: str = "resize", residual_range: float = 1.0,
                 d_width: int = 48) -> None:
        super().__init__()
        _same_channels(in_channels, out_channels)
        self.generator = GANGenerator(in_channels, width=width, res_blocks=res_blocks, down=down,
                                      upsample=upsample, residual_range=residual_range)
        self.discriminator = PatchDiscriminator(in_channels, width=d_width)

    def forward(self, x: Tensor) -> Tensor:
        """The generator's output (denoised, normalised units)."""
        return self.generator(x)


class WGANPair(nn.Module):
    """Architecture ``wgan``: a residual DnCNN generator + :class:`Critic`; ``forward`` denoises.

    Parameters
    ----------
    in_channels, out_channels : int
        Image channels (``out_channels`` must equal ``in_channels``).
    depth, width : int
        DnCNN layers (17) and channels (64).
    critic_width : int
        Channels of the critic's first convolution (64).
    """

    def __init__(self, in_channels: int = 1, out_channels: int | None = None, *, depth: int = 17,
                 width: int = 64, critic_width: int = 64) -> None:
        super().__init__()
        _same_channels(in_channels, out_channels)
        self.generator = DnCNN(in_channels, depth=depth, width=width, residual=True)
        self.discriminator = Critic(in_channels, width=critic_width)

    def forward(self, x: Tensor) -> Tensor:
        """The generator's output (denoised, normalised units)."""
        return self.generator(x)


def _same_channels(in_channels: int, out_channels: int | None) -> None:
    if out_channels is not None and out_channels != in_channels:
        raise ValueError("a GAN generator adds its output to the input: out_channels must equal in_channels")


# -- VGG16 features -------------------------------------------------------------------
#: torchvision ``vgg16`` ``features`` indices of the convolutions up to conv2_2, and their shapes.
VGG_LAYERS = {0: (64, 3), 2: (64, 64), 5: (128, 64), 7: (128, 128)}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VGGFeatures(nn.Module):
    """VGG16 up to relu2_2 (conv1_1, conv1_2, max-pool, conv2_1, conv2_2, each conv + ReLU); frozen.

    The input is an image in [0, 1] (B, 1 or 3, H, W): it is repeated to three
    channels if gray and normalised with the ImageNet mean and std. The output
    is (B, 128, floor(H/2), floor(W/2)). The weights come from
    :func:`load_vgg_features`; they never train (``requires_grad`` is False).
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1_1 = nn.Conv2d(3, 64, 3, padding=1)
        self.conv1_2 = nn.Conv2d(64, 64, 3, padding=1)
        self.conv2_1 = nn.Conv2d(64, 128, 3, padding=1)
        self.conv2_2 = nn.Conv2d(128, 128, 3, padding=1)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).reshape(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: Tensor) -> Tensor:
        """Features of ``x`` (B, 1 or 3, H, W) in [0, 1]."""
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        elif x.shape[1] != 3:
            raise UsageError(f"the VGG16 feature loss needs gray or RGB images, got {x.shape[1]} channels; "
                             f"set method.feature_weight=0")
        x = (x - self.mean) / self.std
        x = F.relu(self.conv1_2(F.relu(self.conv1_1(x))))
        x = F.max_pool2d(x, 2)
        return F.relu(self.conv2_2(F.relu(self.conv2_1(x))))


def load_vgg_features(path: str | os.PathLike) -> VGGFeatures:
    """:class:`VGGFeatures` with the weights of torchvision's VGG16 state dict file ``path``.

    The file is read with ``torch.load(weights_only=True)`` (no arbitrary
    unpickling); only ``features.{0,2,5,7}.{weight,bias}`` are used (a full
    ``vgg16-397923af.pth`` or a file with just those keys).

    Raises
    ------
    UsageError
        No such file.
    InputError
        Not a readable state dict, or missing keys / wrong shapes (all listed in one message).
    """
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"method.vgg_weights: no such file: {p} (give torchvision's vgg16 .pth weight file)")
    try:
        state = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"method.vgg_weights: {p} is not a readable PyTorch weight file ({first})") from None
    if not isinstance(state, dict):
        raise InputError(f"method.vgg_weights: {p} holds a {type(state).__name__}, not a state dict")
    problems = []
    tensors = {}
    names = ["conv1_1", "conv1_2", "conv2_1", "conv2_2"]
    for name, (idx, (out_c, in_c)) in zip(names, VGG_LAYERS.items()):
        for part, shape in (("weight", (out_c, in_c, 3, 3)), ("bias", (out_c,))):
            key = f"features.{idx}.{part}"
            value = state.get(key)
            if value is None:
                problems.append(f"{key} missing")
            elif not isinstance(value, torch.Tensor) or tuple(value.shape) != shape:
                got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
                problems.append(f"{key} has shape {got}, expected {shape}")
            else:
                tensors[f"{name}.{part}"] = value.float()
    if problems:
        raise InputError(f"method.vgg_weights: {p} is not a torchvision VGG16 weight file: {'; '.join(problems)}")
    from ..provenance import file_sha256

    sha = file_sha256(p)
    named = re.search(r"-([0-9a-f]{8,64})\.pth$", p.name)  # (torchvision names its files by their hash's start)
    if named and not sha.startswith(named.group(1)):
        raise InputError(f"method.vgg_weights: {p} is damaged or not the file its name says: its SHA-256 starts "
                         f"{sha[:8]}, its name says {named.group(1)[:8]} (download it again)")
    net = VGGFeatures()
    net.load_state_dict(tensors, strict=False)
    net.source_sha256 = sha  # (recorded in the model file: a paired-data QA pass found the path alone)
    return net
