"""Pretrained models shipped inside the package, and the choice ``noise2x denoise IMAGE`` makes without options.

The models live beside this file as ``.safetensors`` model files (the same format as ``noise2x train``
writes), listed in ``models.json``: name, file, what each is for (channels, noise kind and level range),
whether the automatic choice may use it, and how it was trained (the command and budget; its figures are in
BENCHMARKS.md and in the file's metadata, shown by ``noise2x info``). ``scripts/ship_models.py`` writes them.

The automatic choice (:func:`choose`) looks at the image's noise:

0. impulse noise (random values, salt and pepper: isolated outliers, :func:`noise2x.estimate.impulse_share`, on
   more than :data:`IMPULSE_SHARE` of the pixels, where the noise is not read as signal-dependent or is read so
   at a peak of :data:`IMPULSE_PEAK` or more) -> the zero-shot ``zs_n2n``, as a declared ``--noise impulse:p=P``
   (it read as strongly correlated noise of a small sigma, which the routes below leave in the image;
   BENCHMARKS.md, "Impulse noise with no options");
1. spatially correlated noise (estimated ``beta`` of :func:`noise2x.estimate.correlation` above 0.4;
   a colour image's channels are read one by one, :func:`noise_correlation`): no shipped model is trained
   for it. Strongly correlated (``beta`` at least :data:`CORRELATED_PSD_BETA`), it goes to BM3D given the
   noise's power spectrum (the marginal sigma and beta read; before the Poisson test, unless that reads a
   peak inside a Poisson model's range), on images up to :data:`WEAK_MAX_PIXELS`; so does a declared
   ``--noise correlated:...`` of ``beta`` at least :data:`DECLARED_PSD_BETA`, with its own sigma and beta
   (BENCHMARKS.md, "Correlated noise: BM3D given its spectrum"). Otherwise (mostly fine texture under weak
   white noise, where the spectrum read is the texture's) it goes on to steps 2-4, where a white-noise
   model removes its white part (a declared one: sigma * sqrt(1 - beta)). That beat the zero-shot MASH,
   made for such noise, in 14 of 17 runs on BSD68 and CBSD68 photos (sigma 5-25; MASH fell far below the
   noisy input on weak noise, and was ahead by at most 0.64 dB in the other 3), so MASH is left to an
   explicit ``--method mash`` (``scripts/mash_or_model.py``; BENCHMARKS.md, "Correlated noise with no
   options: MASH or the model");
2. signal-dependent noise (Poisson-Gaussian fit of :func:`noise2x.estimate.poisson_gaussian` whose
   signal-dependent variance dominates at the image's mean level) -> the Poisson model if the estimated
   peak is in its range (weak light, where a ``narrow`` Poisson model's range holds the peak, that model:
   ``gray-poisson-low``, peaks 1..10 in the model's 8-bit units); above it (weaker noise), the Anscombe
   transform and the Gaussian model; below every range (stronger noise), the Poisson model trained on the
   strongest noise all the same (an RGB photo: the weak-light model on its planes in that model's range,
   else the Anscombe transform and the Gaussian model, :func:`stabilised`; after the transform the
   ``narrow`` model where the stabilised noise, on the planes the model sees, lies in its range). An
   estimated reading whose std at the image's mean level is below :data:`WEAK_POISSON_SIGMA` goes to BM3D
   instead, as weak white noise does: after the generalised Anscombe transform of the reading, or with the
   white sigma read where the fit looks like texture (:data:`POISSON_ZERO_LEVEL`; BENCHMARKS.md, "Weak noise
   read as signal-dependent");
3. otherwise white Gaussian noise of estimated sigma -> the Gaussian model (where the noise, also at the
   image's bright end, lies in a ``narrow`` model's range, that model: ``gray-gaussian-low``, sigma
   0..20; on a colour photo the level its planes carry, up to sigma/sqrt(2) (:func:`plane_share`), so
   sigma 0..28; BENCHMARKS.md, "A weak-noise model"); above its range, on the image
   scaled down to bring the noise to the range's top (a noise stronger than a model's range went to ZS-N2N
   up to 3a9e2bc, which did worse: BENCHMARKS.md, "Noise stronger than the models' range");
4. nothing fits (no shipped model for the noise, or a level below a model's range that does not start
   at 0) -> the zero-shot ``zs_n2n``.

The shipped models are gray. A colour image goes through a gray model plane by plane: an RGB image's
luminance and chrominance planes (``noise2x.predict.to_luma_chroma``), other channel counts channel by
channel (BENCHMARKS.md, "Colour images through the gray models").

A noise spec given by the user (``--noise``) replaces the estimate. No model is trained for a declared
Poisson-Gaussian noise: on a gray image whose peak lies in a Poisson model's range, that model takes it as it
is (on more channels only the weak-light model, at the level the planes it sees carry); otherwise the
generalised Anscombe transform and the white-noise model, or that model as it is where the read noise
dominates (BENCHMARKS.md, "Declared Poisson-Gaussian noise").
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UsageError
from ..io import to_8bit_units

__all__ = ["Choice", "choose", "find", "jpeg_reading", "jpeg_signs", "list_models", "model_path", "noise_beta",
           "noise_correlation", "plane_share"]

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "models.json"

#: Above this estimated correlation ``beta`` the noise counts as spatially correlated. Set by
#: ``scripts/correlation_calibration.py`` on train400 (the threshold misreading the fewest images over
#: white Gaussian, Poisson and correlated noise); BENCHMARKS.md gives how often it errs on BSD68.
CORRELATED_BETA = 0.4
#: Why a correlated noise goes to a white-noise model (``scripts/mash_or_model.py``, BENCHMARKS.md).
_WHITE_PART = ("the white-noise routes (the shipped models, or BM3D for weak noise) remove its white part, which "
               "beat MASH in 14 of 17 runs on BSD68 and CBSD68 photos (--method mash to use it)")
#: ... and for a correlated noise read (not given), where BM3D runs: the way to take its correlated part (a film
#: scan's grain, read at beta 0.78, kept its route unsaid, a document scans QA pass)
_BETA_AUTO = ("; --method bm3d --set beta=auto takes the correlated part too, for noise known to be correlated, "
              "such as film grain")
#: Noise whose estimated correlation ``beta`` is at least this (and above :data:`CORRELATED_BETA`) goes to BM3D
#: given the noise's power spectral density (:func:`noise2x.classical.correlated_psd` of the estimated marginal
#: sigma and beta), not to a white-noise model (nor to the Poisson route, whose fit such noise misleads), on
#: images of up to WEAK_MAX_PIXELS. Above 1: never. (``scripts/correlated_psd_calibration.py``; BENCHMARKS.md,
#: "Correlated noise: BM3D given its spectrum")
CORRELATED_PSD_BETA = 0.9
#: ... or, read along one axis (:func:`noise2x.estimate.correlation_direction`: noise correlated along rows or
#: columns alone, a line scan's), at least this along it: a reading of half the differences, which line noise of
#: beta 1 read as 0.90 on a 160-pixel BSD68 crop (``scripts/correlation_direction_check.py``, BENCHMARKS.md), and
#: beta 0.7 as 0.46 to 0.83 on the calibration images, where the white-noise route it took up to 0.8 (an AFM user's
#: QA pass) was up to 9 dB behind BM3D given the spectrum along the axis (``scripts/one_axis_calibration.py``,
#: BENCHMARKS.md, "Weaker lines: read from beta 0.65")
ONE_AXIS_PSD_BETA = 0.65
#: ... where read under this, only if the white sigma read (the noise's finest grain) is at least ONE_AXIS_WHITE_SHARE
#: of the marginal sigma read along the axis: such noise keeps about half of it there (0.44 to 0.63 at beta 0.7 on
#: the calibration images), texture along one direction under weak white noise less (0.17 to 0.34 on train400
#: photos at sigma 0.5 to 2, which BM3D along the axis smoothed away at a threshold of 0.6: a development run)
ONE_AXIS_FIRM_BETA = 0.8
ONE_AXIS_WHITE_SHARE = 0.4
#: ... on images whose shorter side is at least this: on smaller ones the correlation reading is unreliable (white
#: noise of sigma 25 on the 32x40 smooth image of test_downscaled_check_halves_runs_and_tabulates read as strongly
#: correlated; the calibration images are 180 pixels and more on a side, the tests' crops 160).
CORRELATED_PSD_MIN_SIDE = 128
#: ... and whose correlated reading grows by at most this factor from the flattest 3% of the pixels to the flattest
#: 30% (:func:`noise2x.estimate.correlation_growth`): stationary noise reads alike on both, image texture, which the
#: flattest pixels hold least of, grows. Textured photos with weak noise read as strongly correlated (their texture's
#: reading, sigma up to 12) and BM3D given that spectrum smoothed them away: on the calibration images (train400
#: 20-27 and 40-47, CBSD68 60-67) with white noise of sigma 0.3-2 it lost up to 26 dB against the route before.
#: With CORRELATED_PSD_WHITE_SHARE, of the rules scored (growth 1.1-1.4 or none, share 0-0.09) 1.15 lost least
#: against the better route per image (0.30 dB over 488 noisy images, 0.83 with neither test; 1.15 alone the same)
#: and left out 25 readings, 1 of which had gained (0.18 dB; ``scripts/correlated_psd_calibration.py``;
#: BENCHMARKS.md, "Texture read as strongly correlated noise"). inf: no such test.
CORRELATED_PSD_GROWTH = 1.15
#: ... and whose white sigma read (:func:`noise2x.estimate.sigma`, the noise's finest grain) is at least this share
#: of the correlated reading's marginal sigma: noise of the correlation model (beta 1) keeps about 0.08 at the finest
#: scale, smooth texture read as correlated less (a BSD68 photo whose growth passed: 0.055). On the calibration
#: images it changes nothing beside the growth test at 1.15, and costs nothing (at growth 1.2-1.3 it gained
#: 0.013 dB per image). 0: no such test.
CORRELATED_PSD_WHITE_SHARE = 0.06
#: The growth is read on the centre window of at most this side (the image's data window where a mask is given):
#: on a 2048x2048 colour window it took about 9 s on a 2-core CPU (an unrecorded development run), on 1024x1024
#: about a quarter of that; a million pixels read it as well as more (the calibration and test photos, 481x321 and
#: less, are read whole).
GROWTH_WINDOW = 1024
#: The same for a declared ``correlated:...`` noise (its own sigma and beta, exact): BM3D given its spectrum
#: where its beta is at least this (any image size up to WEAK_MAX_PIXELS). On calibration images (train400 and
#: CBSD68 60-67, beta 0.1-1, sigma 3-25) BM3D given the spectrum was ahead of the white-noise model on the white
#: part at every beta on average, but for gray images at sigma 25, beta 0.1 (-0.12 dB); 0.1 (the least beta
#: measured) lost least against the better route per image (0.03 dB; 0.25: 0.08, 0.5: 0.47). Nearer white
#: noise, unmeasured, the model (ahead on white noise) keeps it (BENCHMARKS.md, "Correlated noise: BM3D given
#: its spectrum").
DECLARED_PSD_BETA = 0.1
_PSD_WHY = "BM3D given the noise's power spectrum, not a shipped model (trained for white noise only)"
#: The estimated noise of a colour image counts as signal-dependent (the Poisson route) where its shot-noise
#: variance is at least this many times its signal-independent variance at the image's mean level; else
#: white Gaussian noise of the estimated sigma. On calibration photos (CBSD68 60-67; white, Poisson and
#: Poisson-Gaussian noises) 2 to 3 lost least against the better route per image
#: (``scripts/shot_threshold_calibration.py``; BENCHMARKS.md, "Estimated noise: when it counts as Poisson").
SHOT_DOMINATES = 2.0
#: The same for a gray image, whose Poisson route is the Poisson model as it is, read noise and all: on
#: calibration images (train400, same noises) 0.5 lost least (0.016 dB on average; 2: 0.044).
SHOT_DOMINATES_GRAY = 0.5
#: An estimated noise counts as signal-dependent only where its estimated slope ``a`` (variance per unit of
#: intensity) is at least this many standard errors above 0 (:func:`noise2x.estimate.poisson_gaussian`):
#: on a flat or low-contrast image the slope is ill-determined and white noise could read as Poisson by chance
#: (BENCHMARKS.md, "Estimated noise on flat and low-contrast images").
SLOPE_SIGNIFICANCE = 3.0
#: A noise not read as signal-dependent whose isolated outliers (:func:`noise2x.estimate.impulse_share`) are more
#: than this share of the pixels is impulse noise, and goes to ZS-N2N, as ``--noise impulse:p=P`` does. On the
#: calibration images the other noises read at most half of it where it is read, impulses on 5% of the pixels and
#: more over it on all but one of 24 images each (``scripts/impulse_calibration.py``; BENCHMARKS.md, "Impulse noise with no
#: options").
IMPULSE_SHARE = 0.003
#: ... or read as signal-dependent of a peak of at least this: shot noise of a few photons makes isolated outliers
#: too (on the calibration images, readings over IMPULSE_SHARE came with peaks of 6.6 at most; readings of a peak
#: of 10 and more stayed under 0.2%), where impulses read as shot noise read peaks of 10.6 and more
IMPULSE_PEAK = 15.0
#: ... and there are at least this many (twice the rarer side's): two outliers made 1% of a 16x16 crop's pixels
IMPULSE_LEAST = 50
#: Below the impulse route, isolated outliers beyond every neighbour by :data:`noise2x.estimate.SPIKE_SIGMAS` times the
#: white sigma read (:func:`noise2x.estimate.impulse_share`, bright and dark: not a sky frame's stars) on at least
#: this share of the pixels, and at least SPIKE_LEAST of them on the rarer side, get a note (:func:`noise2x.api.
#: spikes_note`): every route keeps them (an AFM's tip jumps on 0.2% of a height map's pixels came back at full
#: height, unsaid, in a QA pass). Clean calibration photos read at most 3e-5 as impulses (impulse_share).
SPIKE_SHARE = 1e-4
SPIKE_LEAST = 8
#: White Gaussian noise weaker than this (sigma in 8-bit units, estimated or given; an estimated correlated
#: reading too) goes to BM3D with that sigma, not to a shipped model: the models, blind to the level, take fine
#: texture for noise there (at sigma 1 the no-option choice fell below the noisy input: BSD68 48.13 -> 45.45 dB).
#: On calibration images (train400 20-27 and 40-47; 18 noises, white sigma 0.5-10, correlated, weak Poisson)
#: 5 lost least against the better route per image, estimated (0.036 dB; 3: 0.050, 8: 0.060) and given
#: (0.018 dB); where BM3D and the narrow model cross at white noise (``scripts/weak_noise_calibration.py``;
#: BENCHMARKS.md, "Very weak noise"). 0 turns the rule off.
WEAK_SIGMA = 5.0
#: ... on images of up to this many pixels: BM3D takes 30-45 s per megapixel on a gray image and 85-100 s on a
#: colour one (CBM3D) on the 2-core development machine, the models 4-12 s (BENCHMARKS.md, "Very weak noise");
#: a larger image keeps the model route, and a note says so (``--method bm3d`` runs BM3D).
WEAK_MAX_PIXELS = 2_000_000
#: Offsets shared by whole columns or rows (estimate.stripes, 8-bit units) of at least this std, and at least
#: STRIPE_SHARE of the white noise's sigma, get a note (api.stripes_note): no method here removes them. On BSD68,
#: Set12 and CBSD68 with white noise of sigma 0.5 to 25 and on RNI15 the scenes read at most 1.6
#: (``scripts/stripe_check.py``; none noted).
STRIPE_LEAST = 2.0
STRIPE_SHARE = 0.5
#: The least sigma BM3D is given there, in the image's counts (8-bit units for an 8-bit image; a 16-bit image's
#: counts, a fraction of them in 8-bit units): noise below a tenth of a count is below the rounding. An image
#: of values that are no whole numbers (float data: temperatures in °C) gets the sigma read, where one is read
#: (0.1 in 8-bit units where none is). A floor of 0.1 in 8-bit units was 5 times a cooled thermal camera's 0.02 °C
#: on temperatures read as 8-bit units, and 22.7 counts of a 14-bit frame whose saturated block stretched its 8-bit
#: map (5.9 read), which came out worse than its input (a thermal QA pass).
WEAK_SIGMA_FLOOR = 0.1
#: An estimated noise read as signal-dependent (the Poisson route) whose std at the image's mean level
#: (``sqrt(a * mean + b)`` of the Poisson-Gaussian fit, 8-bit units) is below this goes to BM3D, as weak white
#: noise does (on images up to WEAK_MAX_PIXELS): after the generalised Anscombe transform of the reading (BM3D's
#: ``gain``), or, where the fit looks like texture (POISSON_ZERO_LEVEL), with the white sigma read. On calibration
#: images (train400 20-27 and 40-47, CBSD68 60-67; white sigma 0.3-3, Poisson peak 300-10000) the Anscombe
#: route and a shipped model were behind BM3D after the transform on real weak Poisson noise (peak 3000: 42.09
#: against 42.58 dB gray, 42.44 against 43.84 colour) and took texture read as shot noise for noise (a colour
#: photo at white sigma 0.3: 49.26 dB, the noisy input about 58.7); 8 lost least against the best route per
#: image (0.125 dB; 5: 0.243, 10: 0.139; the rule off 0.793), every noise's mean at or above the route before, the
#: worst image 0.24 dB behind it
#: (``scripts/weak_poisson_calibration.py``; BENCHMARKS.md, "Weak noise read as signal-dependent"). A declared Poisson
#: noise of one peak whose std at the mean level is below it goes to BM3D told the noise (the Anscombe transform of
#: that peak): on the same images 8 lost 0.055 dB per image against the better route (6: 0.052; off: 0.518; peak
#: 10000 on colour photos 47.68 against 45.32 dB; ``--declared``). 0 turns it off.
WEAK_POISSON_SIGMA = 8.0
#: ... where the reading's variance line ``a * x + b`` reaches 0 above this fraction of the image's mean level,
#: the fit read texture whose contrast grows with the brightness, not a sensor's noise (whose line reaches 0 at
#: about 0 or below: read noise): BM3D with the white sigma read, not the transform of the reading. On the
#: calibration images 0.1-0.2 lost least (0.2: 0.125 dB; 0.3: 0.168; the sign off, every reading transformed: 0.400).
POISSON_ZERO_LEVEL = 0.2
#: An image counts as having gone through JPEG compression where :func:`noise2x.estimate.jpeg_blocks` reads an
#: excess of at least this (noisy images never compressed read 0.03 at most, JPEGs with Gaussian noise 0.11 and
#: more: ``scripts/jpeg_blocks_check.py``, BENCHMARKS.md, "Noisy JPEGs"). JPEG removes the fine grain of noise
#: compressed with the image, and such noise reads weaker than it is: at quality 50-75 white sigma 0-5 where the
#: photo carried sigma 10, which the weak-noise BM3D above then leaves.
JPEG_EXCESS = 0.05
#: Such an image counts as a JPEG as its decoder left it (no noise added after compression) where
#: :func:`noise2x.estimate.jpeg_rounding` reads a spread below this: JPEGs as decoded (clean, or with Gaussian or
#: Poisson noise compressed with them) read 0.06-0.23, white noise of sigma 1 added after a JPEG 0.64 and more,
#: sigma 0.5 0.37-0.58 (weaker noise is within the decoder's own rounding) (``scripts/jpeg_blocks_check.py``;
#: BENCHMARKS.md, "Noisy JPEGs").
JPEG_ROUNDING = 0.4
#: ... and as quantised coarsely (quality up to about 90, where JPEG removes the noise's fine grain) where
#: :func:`noise2x.estimate.jpeg_fine_steps` reads below this: JPEGs of quality 50-90 read 0, at 95 (and the BSD's
#: photos as they are) 0.03 and more, the smoothest calibration photo at 95 0.002 (``scripts/jpeg_blocks_check.py``,
#: ``scripts/jpeg_route_check.py``; BENCHMARKS.md, "Noisy JPEGs"). A near-lossless JPEG keeps the photo's fine
#: texture, which the general model takes for noise: on the clean calibration photos at quality 95 that took the
#: weak-noise BM3D it was behind on all 6, by up to 7.9 dB.
JPEG_FINE = 0.001
#: On a JPEG as decoded, a white sigma read below this goes to the general shipped model (blind to the level) as
#: it is, not to the weak-noise BM3D: on the calibration photos (train400 20-27, CBSD68 60-63; clean, sigma 10 and
#: 25 compressed at quality 50-90) it gained 0.86 dB on the 31 of 100 photos it took (one 0.30 dB behind); 5
#: added a photo 1.31 dB behind (fine texture read as noise). On an image too large for BM3D (WEAK_MAX_PIXELS)
#: it replaces the narrow model, which it was ahead of on 26 of those 31 photos (+0.54 dB on average, -0.87 to
#: +3.35; ``scripts/jpeg_route_check.py --show``, BENCHMARKS.md, "Noisy JPEGs"). 0 turns the rule off.
JPEG_MODEL_SIGMA = 4.5
#: A declared Poisson-Gaussian noise goes through the generalised Anscombe transform where its shot-noise
#: variance is at least this many times its read-noise variance at the image's mean level (shot fraction
#: 0.8); else the white-noise model gets the image as it is, scaled down where the noise is beyond its range
#: (blind to the level, it did better there: the
#: transform cost 1.0 dB on gray and 2.8 dB on colour images at peak 80, sigma 30). Set on calibration images
#: (25 noises, peak 5-80, sigma 0-30; 16 train400 images and CBSD68 photos 60-67): of the thresholds tried it
#: lost least in the worst case against the better of the two routes per image, 0.04 dB on average
#: (``scripts/pg_route_calibration.py``; BENCHMARKS.md, "Declared Poisson-Gaussian noise").
DECLARED_SHOT_DOMINATES = 4.0
#: An image whose median value (in 8-bit units, its lowest values at 0) is below this share of its 99th percentile
#: is sparse: bright objects on a dark background, as in fluorescence microscopy or the sky. Its noise counts as
#: signal-dependent where the shot noise dominates at its 90th percentile, not at the mean level, which the
#: background holds: a fluorescence image of spots up to 3000 photons over a dark background read as white noise
#: of sigma 0.24 (the background's read noise) and came back unchanged, the spots' noise left whole. The choice
#: changes on no committed benchmark input (``scripts/sparse_rule_scope.py``; BENCHMARKS.md, "Sparse images and
#: weak noise on large images"). 0 turns it off.
SPARSE_SHARE = 0.1
#: ... unless this share of its pixels or more hold its lowest value (a floor of one value: a dark photo clipped at
#: black, a black fill, a letterbox), where the background holds no noise to weigh the objects' against.
SPARSE_FLOOR = 0.05
#: Data whose values lie this many times the white sigma read below their own 0 and as far above it (their 1st and
#: 99th percentiles), centred on it (:data:`SIGNED_CENTRE`), a seismic section's, are read as white or correlated
#: noise, never as
#: signal-dependent: a level of a sign that is the data's own has no shot noise (a seismic section whose noise is
#: loudest near its top read as Poisson noise of peak 111 and took the Anscombe route, 2.2 times the error of the
#: blind white-noise model: a geophysics QA pass). A background subtracted leaves negative values of its noise's
#: size only, under this.
SIGNED_SIGMAS = 4.0
#: ... and whose median lies within this share of their 1st-99th percentile spread of their 0 (a seismic section's
#: at most 0.01 in seismic_check.py's; a photo mapped to [-1, 1] mostly farther: such photos under shot noise lost
#: the Poisson route, 0.4 to 1.6 dB on 6 of 22 BSD68 crops, in a re-check without this; 3 of the 68 BSD68 photos
#: in [-1, 1] lie within it)
SIGNED_CENTRE = 0.02
#: Weak noise on an image too large for BM3D (WEAK_MAX_PIXELS) goes to a shipped model, out of its comfort there:
#: it shifts dark flat areas a little, which on a sky frame mapped to 8-bit units (its noise 0.1-0.2 there) raised
#: the whole sky by 0.7 of its noise. The result then gets back the local mean of what it removed (a Gaussian of
#: this sigma, pixels): the sky's shift went from +10.71 to +0.014 counts, and the first 12 BSD68 and 6 CBSD68
#: photos forced onto that route moved by -0.001 to +0.148 dB at white sigma 1 and 3 and Poisson peak 3000
#: (``scripts/local_mean_check.py``; BENCHMARKS.md, "Sparse images and weak noise on large images"). 0 turns it off.
LOCAL_MEAN_SIGMA = 4.0
#: A level may exceed a model's training range by this factor and still use it.
RANGE_SLACK = 1.1
#: The noise of a larger image is read on its centre window of this side: the estimators' time and
#: memory grow with the image (on a 12-MP RGB photo, in an unrecorded development run, about as long as
#: ZS-N2N itself), and 4 MP of pixels are plenty to read a noise level. Images up to this size are read whole.
ESTIMATE_WINDOW = 2048


#: A spectral peak (:func:`noise2x.estimate.periodic_pattern`) this strong is a regular pattern of fine period (a
#: halftone's dot screen; natural photos, their JPEGs, RNI15's real noise and straight-edged drawings read far less:
#: benchmarks/periodic_check.json), which the noise estimates read as noise: a note says so (a clean halftone read
#: as sigma 16 to 32, and the model greyed its dots, in a document scans QA pass)
PERIODIC_PEAK = 120.0
#: ... taken for a halftone's screen only where the minority tone (its ink, or its paper: see :func:`minority_share`)
#: of the window the pattern is read in (:func:`noise2x.estimate.periodic_window`) covers this share of it or more:
#: a halftone of a photo covers 25% or more there (the first 20 BSD68 photos' at screens of 4 to 8 px:
#: benchmarks/bilevel_check.json), a page of text up to 20%, a form ruled every 24 px or more too, more densely
#: ruled ones more (benchmarks/periodic_check.json): type in a monospaced font, or a form's ruling, repeats along
#: two directions as a screen does (both taken for screens in a re-check)
PATTERN_INK_SHARE = 0.23
#: A gray image holding such a pattern (not read as signal-dependent noise, nor as noise correlated along one axis)
#: goes to BM3D at the white sigma read, where BM3D runs: its blocks match across the pattern's repeats, where the
#: shipped models smoothed it and a correlated reading (the pattern's own peaks) gave BM3D a spectrum that took it
#: for noise. An AFM user's atomic lattice (period 6 px) was left at 2.6 times BM3D's error (a QA pass);
#: ``scripts/pattern_route_check.py``, BENCHMARKS.md, "Regular patterns: lattices and halftones". False: the routes
#: before.
PATTERN_BM3D = True
#: A bilevel image whose specks (:func:`noise2x.classical.specks`, of up to SPECK_PIXELS) cover this share of its
#: pixels or more is a dither (Pillow's Floyd-Steinberg dithers of the first 20 BSD68 photos: 15 left as they are,
#: benchmarks/bilevel_check.json), not specks on a page (1% of a page's pixels flipped: about 1%): left as it is, as a
#: halftone is
DITHER_SHARE = 0.05


def minority_share(image: np.ndarray) -> float:
    """The share of an image (gray, or the mean of its channels) on the rarer side of the midpoint of its 1st and
    99th percentiles (its ink and paper levels, where a scan's blur and noise spread them): a page's ink, or a
    halftone's lighter or darker dots (:data:`PATTERN_INK_SHARE`)."""
    img = np.asarray(image, dtype=np.float64)
    if img.ndim == 3:
        img = img.mean(axis=2)
    if not img.size:
        return 0.0
    low, high = np.percentile(img, [1, 99])
    above = float(np.mean(img > (low + high) / 2))
    return min(above, 1.0 - above)


def _bilevel_choice(image: np.ndarray, levels: tuple[float, float], scale: float, offset: float,
                    facts: dict[str, Any]) -> Choice:
    """The no-option route of a bilevel (black-and-white) gray image: despeckle, or, for a halftone or dither,
    nothing (see :data:`DITHER_SHARE`)."""
    from .. import estimate
    from ..classical import SPECK_PIXELS, specks

    binary = np.asarray(image) == levels[1]
    if binary.ndim == 3:
        binary = binary[..., 0]
    share = float(np.mean(specks(binary, SPECK_PIXELS)))
    peak, period = estimate.periodic_pattern(binary.astype(np.float64) * 255.0)
    if minority_share(estimate.periodic_window(binary)) < PATTERN_INK_SHARE:  # (a text page or a form: no screen;
        # read where the pattern was: a halftone amid white margins or text was taken for a page, a re-check)
        peak = 0.0
    facts.update(bilevel=True, speck_share=round(share, 5))
    source = "a bilevel image (two values, black and white: a 1-bit scan's)"
    if peak >= PERIODIC_PEAK or share >= DITHER_SHARE:
        facts["pattern_period"] = round(period, 2) if peak >= PERIODIC_PEAK else 0.0
        what = (f"a halftone screen (a regular pattern of period {period:.2g} px)" if peak >= PERIODIC_PEAK else
                f"a dither ({share:.1%} of its pixels in dots of up to {SPECK_PIXELS}, over {DITHER_SHARE:.0%})")
        return Choice(None, "despeckle", f"{source} whose dots form {what}: they are the picture, not noise: left "
                                         f"as it is (despeckle with size 0)", scale, facts, offset, source,
                      {"size": 0})
    return Choice(None, "despeckle", f"{source}: no grey levels to read a noise from; its specks (groups of up to "
                                     f"{SPECK_PIXELS} pixels of one value, {share:.2%} of the pixels) take the other "
                                     f"value: despeckle (--set size=N for larger ones)", scale, facts, offset, source,
                  {"size": SPECK_PIXELS})


def _manifest() -> list[dict[str, Any]]:
    if not MANIFEST.is_file():
        return []
    return json.loads(MANIFEST.read_text())


def list_models() -> list[dict[str, Any]]:
    """The shipped models: dicts with ``name``, ``description``, ``path``, ``channels``, ``noise``, ``range``."""
    rows = []
    for entry in _manifest():
        path = HERE / entry["file"]
        if path.is_file():
            rows.append({**entry, "path": path})
    return rows


def find(name: str) -> dict[str, Any] | None:
    """The shipped model called ``name`` (or None)."""
    for row in list_models():
        if row["name"] == name:
            return row
    return None


def model_path(name: str) -> Path:
    """Path of the shipped model ``name``; UsageError listing the shipped ones if unknown."""
    row = find(name)
    if row is None:
        names = ", ".join(r["name"] for r in list_models()) or "none"
        raise UsageError(f"no shipped model called '{name}'; shipped: {names}")
    return Path(row["path"])


@dataclasses.dataclass
class Choice:
    """What :func:`choose` picked: a shipped model (``model``) or a direct method (``method``), and why."""

    model: Path | None
    method: str | None
    reason: str
    scale: float = 1.0  # image units -> the model's 8-bit units: (x - offset) * scale (noise2x.io.to_8bit_units)
    facts: dict[str, Any] = dataclasses.field(default_factory=dict)
    offset: float = 0.0
    source: str = ""  # what was read or given of the noise (the reason's first part)
    options: dict[str, Any] = dataclasses.field(default_factory=dict)  # the direct method's options


def _auto_model(kind: str, channels: int, level: float | None = None) -> dict[str, Any] | None:
    """The automatic model for ``kind`` noise: one with ``channels`` channels, else a gray one (plane by plane).

    A model marked ``narrow`` in models.json (trained on part of the levels, e.g. weak noise) is taken only
    for a ``level`` inside its range, and then before the others; without ``level``, never.
    """
    for wanted in (channels, 1):
        fits = _auto_rows(kind, wanted)
        if level is not None:
            for row in fits:
                if row.get("narrow") and float(row["range"][0]) <= level <= float(row["range"][1]):
                    return row
        for row in fits:
            if not row.get("narrow"):
                return row
    return None


def _auto_rows(kind: str, channels: int) -> list[dict[str, Any]]:
    """The shipped models the automatic choice may use for ``kind`` noise with ``channels`` channels."""
    return [r for r in list_models() if r.get("auto") and r.get("noise") == kind
            and int(r.get("channels", 1)) == channels]


def speckle_model(looks: float) -> dict[str, Any] | None:
    """The shipped model for speckle of ``looks`` looks (models.json noise ``speckle``, a range of looks holding it,
    up to :data:`RANGE_SLACK`), or None. A gray model: speckle multiplies each channel alone, so a colour image
    goes through it channel by channel."""
    return next((r for r in _auto_rows("speckle", 1) if _in_range(looks, r["range"])), None)


def _row(model: Path) -> dict[str, Any] | None:
    """The shipped model (its models.json row) whose file is ``model``, or None."""
    return next((r for r in list_models() if Path(r["path"]) == Path(model)), None)


@dataclasses.dataclass(frozen=True)
class Stabilised:
    """Noise denoised through the generalised Anscombe transform (see :func:`stabilised`).

    ``alpha``, ``sigma`` and ``mu`` are the transform's parameters in the model's 8-bit units
    (:func:`noise2x.classical.anscombe`; for Poisson noise of peak P, ``alpha = 255 / P``); the
    stabilised image (unit noise) is multiplied by ``gain`` to span about 0..255 with white noise of
    std ``gain``, which ``model`` (a gray white-Gaussian model) removes.
    """

    model: Path
    alpha: float
    gain: float
    reason: str
    transform: str
    sigma: float = 0.0
    mu: float = 0.0


def stabilised(choice: Choice, channels: int, colour: str = "auto") -> Stabilised | None:
    """How the no-option choice denoises Poisson noise on an RGB photo: stabilised, then a Gaussian model.

    The luminance/chrominance planes are exact for white noise, not for Poisson noise (a chrominance
    plane's noise depends on R and B, not on its own value). The generalised Anscombe transform of each
    channel first makes the noise white with unit variance; then the shipped white-Gaussian gray model
    denoises the planes, and the closed-form approximation of the exact unbiased inverse (Makitalo & Foi)
    maps back (BENCHMARKS.md, "Colour images through the gray models"). None, and the Poisson model as
    before, for a gray image, ``colour="channels"``, a choice that is not a shipped gray Poisson model (or is
    the ``narrow`` one, for weak light, which takes the planes as they are), or no Gaussian model.

    The stabilised noise (std ``gain``; on the planes up to ``gain`` times :func:`plane_share`) goes to a
    ``narrow`` Gaussian model (``gray-gaussian-low``) where that level lies in its range.
    """
    share = plane_share(channels, colour)
    if choice.model is not None and "gat_alpha" in choice.facts:  # set by choose: see there
        f = choice.facts
        gain = _stabilised_gain(f["gat_alpha"], f["gat_sigma"], f["gat_mu"], choice.model)
        model = _narrow_or(Path(choice.model), gain * share)
        planes = " on the luminance/chrominance planes" if share < 1 else ""
        which = "Anscombe" if "gat_transform" in f and f["gat_sigma"] == 0 else "generalised Anscombe"
        how = f"variance-stabilised ({which}), then the shipped model '{model.stem}'{planes}"
        return Stabilised(model, f["gat_alpha"], gain, f"{choice.source}: {how}",
                          f.get("gat_transform", "generalised anscombe (noise given)"), f["gat_sigma"], f["gat_mu"])
    if channels != 3 or colour == "channels" or choice.model is None or "peak" not in choice.facts:
        return None
    row = _row(choice.model)
    if row is None or row.get("noise") != "poisson" or int(row.get("channels", 1)) != 1 \
            or row.get("narrow"):  # the weak-light model takes the planes as they are (choose)
        return None
    gaussian = _auto_model("gaussian", 1)
    if gaussian is None or int(gaussian.get("channels", 1)) != 1:
        return None
    # a declared peak refers to the spec's full scale and the image's own values (choose); an estimated one to
    # the model's units
    alpha = float(choice.facts.get("poisson_alpha", 255.0 / float(choice.facts["peak"])))
    mu = float(choice.facts.get("poisson_mu", 0.0))
    read = _estimated_read(choice.facts)
    gain = _stabilised_gain(alpha, read, mu, Path(gaussian["path"]))
    model = _narrow_or(Path(gaussian["path"]), gain * share)
    row = _row(model)
    which = "generalised Anscombe" if read > 0 else "Anscombe"
    how = (f"each channel variance-stabilised ({which}), then the shipped model '{row['name']}' "
           f"({row['description']}) on the luminance/chrominance planes")
    reason = f"{choice.source}: {how}" if choice.source else f"{choice.reason}; instead {how}"
    return Stabilised(model, alpha, gain, reason, _transform_name(choice.facts), read, mu)


def _estimated_read(facts: dict[str, Any]) -> float:
    """The read-noise std an estimated Poisson reading carries (``sqrt(b)``; 0 for a declared peak).

    Where the no-option choice reads a noise as Poisson, the transform before a white-noise model takes the
    estimated signal-independent part too (the generalised Anscombe transform), not the shot noise alone.
    """
    if "poisson_a" not in facts:
        return 0.0
    return float(np.sqrt(max(float(facts.get("poisson_b", 0.0)), 0.0)))


def _transform_name(facts: dict[str, Any]) -> str:
    if "poisson_a" not in facts:
        return "anscombe (peak given)"
    if _estimated_read(facts) > 0:
        return "generalised anscombe (peak and read noise estimated)"
    return "anscombe (peak estimated)"


def _narrow_or(model: Path, level: float) -> Path:
    """A gray ``narrow`` Gaussian model whose range holds ``level`` (the noise its planes carry), else ``model``."""
    row = _auto_model("gaussian", 1, level)
    return Path(row["path"]) if row is not None and row.get("narrow") else model


def _stabilised_gain(alpha: float, sigma: float, mu: float, model: Path) -> float:
    """The factor that brings the stabilised 0..255 range to about 0..255, capped at the model's largest sigma."""
    from ..classical import anscombe

    top = float(anscombe(np.array(255.0), alpha=alpha, sigma=sigma, mu=mu))
    row = _row(model)
    cap = float(row["range"][1]) if row is not None and row.get("range") else 50.0
    return min(255.0 / top, cap) if top > 0 else cap


def _in_range(value: float, bounds: Any) -> bool:
    lo, hi = float(bounds[0]), float(bounds[1])
    return lo / RANGE_SLACK <= value <= hi * RANGE_SLACK


def jpeg_reading(img: np.ndarray, mask: np.ndarray | None = None) -> tuple[float, tuple[int, int]] | None:
    """:func:`noise2x.estimate.jpeg_blocks` of ``img`` (8-bit units; ``mask``: the pixels holding data) where it
    applies (a gray or RGB image of at least 16x16), else None; the image went through JPEG where the excess is at
    least :data:`JPEG_EXCESS`."""
    from .. import estimate

    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 3)) or min(img.shape[:2]) < 16:
        return None
    return estimate.jpeg_blocks(img, mask=mask)


def jpeg_signs(img: np.ndarray, mask: np.ndarray | None = None) -> dict[str, Any] | None:
    """How ``img`` (8-bit units; ``mask``: the pixels holding data) went through JPEG compression, or None where the
    reading does not apply (:func:`jpeg_reading`).

    Returns ``excess`` and, where it is at least :data:`JPEG_EXCESS`, ``offset`` (the grid), ``rounding`` and
    ``fine`` (:func:`noise2x.estimate.jpeg_rounding`, :func:`noise2x.estimate.jpeg_fine_steps`; nan on too few
    unclipped blocks), and ``how``: "none" (no JPEG seen), "unknown" (too few unclipped blocks to tell), "after"
    (noise added after compression, :data:`JPEG_ROUNDING`), "fine" (as decoded, quality 95 or so, :data:`JPEG_FINE`)
    or "coarse" (as decoded, quality up to about 90).
    """
    from .. import estimate

    found = jpeg_reading(img, mask)
    if found is None:
        return None
    if found[0] < JPEG_EXCESS:
        return {"excess": found[0], "how": "none"}
    rounding = estimate.jpeg_rounding(img, found[1], mask=mask)
    fine = estimate.jpeg_fine_steps(img, found[1], mask=mask)
    if not (np.isfinite(rounding) and np.isfinite(fine)):
        how = "unknown"
    else:
        how = "after" if rounding >= JPEG_ROUNDING else "fine" if fine >= JPEG_FINE else "coarse"
    return {"excess": found[0], "offset": found[1], "rounding": rounding, "fine": fine, "how": how}


def _coarse_jpeg(img: np.ndarray, facts: dict[str, Any], mask: np.ndarray | None) -> bool:
    """Whether ``img`` (8-bit units; ``mask``: the pixels holding data) is a JPEG as its decoder left it, quantised
    coarsely (:func:`jpeg_signs`); the readings put in ``facts`` (``jpeg_excess``, and where read ``jpeg_rounding``,
    ``jpeg_fine``)."""
    signs = jpeg_signs(img, mask)
    if signs is None:
        return False
    facts["jpeg_excess"] = round(signs["excess"], 3)
    if signs["how"] in ("none", "unknown"):
        return False
    facts["jpeg_rounding"], facts["jpeg_fine"] = round(signs["rounding"], 3), round(signs["fine"], 4)
    return signs["how"] == "coarse"


def noise_beta(image: np.ndarray, mask: np.ndarray | None = None) -> float:
    """The noise's estimated correlation ``beta`` (:func:`noise2x.estimate.correlation`) as the choice reads it.

    A gray image is read as it is. A colour image is read channel by channel and the median taken: in the
    mean of the channels, noise drawn independently per channel drops by sqrt(3) while the texture stays,
    which moves a photo towards the weak-noise regime where texture reads as correlation (CBSD68 with
    white noise: BENCHMARKS.md, "Colour images through the gray models"). ``mask``: the pixels holding
    image data (:func:`noise2x.estimate.correlation`).
    """
    return noise_correlation(image, mask)[1]


def one_axis(reading: Any, shape: tuple[int, ...]) -> str:
    """The axis ("rows", "columns") along which alone the noise of an image of ``shape`` is correlated, as the
    no-option choice and BM3D's ``beta=auto`` take it from its reading along each axis (``reading``:
    :func:`noise2x.estimate.correlation_axes`): on images of :data:`CORRELATED_PSD_MIN_SIDE` and more, at
    :data:`ONE_AXIS_PSD_BETA` (:func:`noise2x.estimate.correlation_direction`); else "both"."""
    from .. import estimate

    if min(shape[:2]) < CORRELATED_PSD_MIN_SIDE:
        return "both"
    return estimate.correlation_direction(reading, least=ONE_AXIS_PSD_BETA)


def noise_correlation(image: np.ndarray, mask: np.ndarray | None = None) -> tuple[float, float]:
    """The noise's estimated marginal std and correlation ``beta``, read as :func:`noise_beta` reads ``beta``
    (:func:`noise2x.estimate.correlation_by_channel`: a colour image, the median over its channels of each)."""
    from .. import estimate

    return estimate.correlation_by_channel(image, mask=mask)


def plane_share(channels: int, colour: str = "auto") -> float:
    """The largest fraction of a channel's white-noise std that a plane a gray model denoises carries.

    An RGB image through the luminance/chrominance planes (``colour`` ``auto`` or ``luma``): 1/sqrt(2),
    the chrominance plane (R - B) / 2 (:data:`noise2x.predict.LUMA_CHROMA`); a gray image, or channel by
    channel: 1.
    """
    if channels != 3 or colour == "channels":
        return 1.0
    from ..predict import LUMA_CHROMA

    return float(np.linalg.norm(LUMA_CHROMA, axis=1).max())


def _data_window(valid: np.ndarray, wh: int, ww: int, step: int | None = None) -> tuple[int, int]:
    """(top, left) of a wh x ww window over the image data (``valid``): about the middle of the data's
    bounding box, unless a window on a grid of ``step`` pixels (default: a 16th of the window) holds more
    data pixels (data in separate areas, e.g. two fields of a mosaic in opposite corners, may leave the
    middle empty)."""
    h, w = valid.shape
    step = step or max(1, min(wh, ww) // 16)
    rows, cols = np.flatnonzero(valid.any(1)), np.flatnonzero(valid.any(0))
    top = min(max((rows[0] + rows[-1] + 1 - wh) // 2, 0), h - wh)
    left = min(max((cols[0] + cols[-1] + 1 - ww) // 2, 0), w - ww)
    best = int(np.count_nonzero(valid[top: top + wh, left: left + ww]))
    if best == wh * ww:
        return top, left
    # data pixels per step x step block (the last row and column of blocks may be partial), then the
    # windows of whole blocks that fit, through a summed-area table of the blocks
    ys, xs = np.arange(0, h, step), np.arange(0, w, step)
    blocks = np.add.reduceat(np.add.reduceat(valid.astype(np.int64), ys, axis=0), xs, axis=1)
    table = np.zeros((len(ys) + 1, len(xs) + 1), np.int64)
    table[1:, 1:] = blocks.cumsum(0).cumsum(1)
    bh, bw = wh // step, ww // step
    tops, lefts = ys[ys <= h - wh] // step, xs[xs <= w - ww] // step
    if bh == 0 or bw == 0 or not len(tops) or not len(lefts):
        return top, left
    t, l = tops[:, None], lefts[None, :]
    sums = table[t + bh, l + bw] - table[t, l + bw] - table[t + bh, l] + table[t, l]
    i, j = np.unravel_index(int(np.argmax(sums)), sums.shape)
    if sums[i, j] > best:
        return int(tops[i] * step), int(lefts[j] * step)
    return top, left


def _window(img: np.ndarray, valid: np.ndarray | None, side: int
            ) -> tuple[np.ndarray, np.ndarray | None, tuple[int, int]]:
    """The window of at most ``side`` pixels a side that a reading takes of ``img`` and its mask ``valid`` (None: every
    pixel holds data): centred, or under a mask about the image data (:func:`_data_window`); with its (top, left)."""
    h, w = img.shape[:2]
    wh, ww = min(h, side), min(w, side)
    top, left = ((h - wh) // 2, (w - ww) // 2) if valid is None else _data_window(valid, wh, ww)
    rows, cols = slice(top, top + wh), slice(left, left + ww)
    return img[rows, cols], None if valid is None else valid[rows, cols], (top, left)


@functools.lru_cache(maxsize=1)
def _bm3d_missing() -> str | None:
    """Why BM3D cannot run in this process (its package missing, or its library not built for this platform:
    Windows on ARM, arm64 Linux, as in Docker on an Apple-silicon Mac), or None where it can."""
    import importlib

    try:
        importlib.import_module("bm3d")
    except ImportError:
        return "the bm3d package is not installed"
    except OSError as exc:
        return f"its library cannot load here: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    return None


def _bm3d_blocked(pixels: int) -> str:
    """Why the route leaves out BM3D, which does better for the noise read, on an image of ``pixels``."""
    missing = _bm3d_missing()
    return f"cannot run on this machine ({missing})" if missing else f"would take long on {pixels / 1e6:.3g} MP"


def bm3d_runs(pixels: int) -> bool:
    """Whether the route may send an image of ``pixels`` to BM3D: small enough (:data:`WEAK_MAX_PIXELS`), and
    BM3D runs here (a platform its library has no build for got BM3D's error instead of a model's result: a
    portability QA pass)."""
    return pixels <= WEAK_MAX_PIXELS and _bm3d_missing() is None


def _told_sigma(image: np.ndarray, mask: Any, scale: float, level: float, facts: dict) -> tuple[float, str]:
    """The sigma BM3D is given for a white level read (8-bit units): ``level``, or :func:`_least_sigma` where that is
    more, and how the reason says it; a floored level noted in ``facts`` (said as the reading, which it is not: a
    thermal QA pass)."""
    from .. import estimate

    told = max(level, _least_sigma(image, estimate.data_mask(mask, np.shape(image)), scale, level))
    if told == level:
        return told, "that sigma"
    facts["sigma_floored_from"] = level / scale
    return told, f"sigma {told / scale:.3g}, the least it takes"


def _least_sigma(img: np.ndarray, valid: np.ndarray | None, scale: float, level: float) -> float:
    """The least sigma BM3D is given (8-bit units, as ``level``): :data:`WEAK_SIGMA_FLOOR` counts of an image of
    whole numbers (``img``'s pixels where ``valid``, in the image's own units, which ``scale`` maps to 8-bit
    units; at most 0.1 in those), else none where a level is read (0.1 in 8-bit units where none is)."""
    values = img if valid is None else img[valid]
    counts = values.size > 0 and bool(np.array_equal(values, np.rint(values)))
    if counts:
        return WEAK_SIGMA_FLOOR * min(scale, 1.0)
    return WEAK_SIGMA_FLOOR if level <= 0 else 0.0  # (8-bit units, as before: 0.1 in a [0, 1] image's own units
    # smoothed a clean graphic's lines by a quarter, a re-check)


def choose(image: np.ndarray, *, noise: Any = None, colour: str = "auto", mask: Any = None) -> Choice:
    """Pick a shipped model or a zero-shot method for ``image`` ((H,W) or (H,W,C) float, its own units).

    ``colour`` is how a gray model will denoise a colour image (:data:`noise2x.predict.COLOUR_MODES`):
    it sets the noise level of the planes the model sees (:func:`plane_share`), which a narrow model's
    range must hold. ``mask`` ((H,W) bool, optional): the pixels holding image data, the only ones the
    noise is estimated from (e.g. the opaque pixels of an RGBA image; a fill elsewhere).
    """
    from .. import estimate

    channels = 1 if image.ndim == 2 else int(image.shape[-1])
    share = plane_share(channels, colour)
    # shipped models work in 8-bit units; an image in other units ([0, 1], 16-bit) is mapped to them
    offset, scale = to_8bit_units(image)
    facts: dict[str, Any] = {"offset": offset, "scale": scale}

    kind: str
    level: float
    # a narrow (weak-noise) model only for white noise (an estimated correlated reading too), at the level the
    # planes the model sees carry (narrow_level; a colour photo's planes carry less than its channels); the
    # declared correlated, Poisson-Gaussian and Anscombe routes keep the wide model (measured with it;
    # BENCHMARKS.md, "A weak-noise model")
    narrow_level: float | None = None
    white = False  # white Gaussian noise, given or estimated (a correlated reading too): WEAK_SIGMA applies
    # a Poisson noise (read, or given with one peak) weaker than WEAK_POISSON_SIGMA: why BM3D takes it, BM3D's
    # options, and how: "white" (the white sigma read), "reading" (its transform), "declared" (the noise given)
    weak_poisson, weak_kind = "", ""
    weak_options: dict[str, float] = {}
    if noise is not None:
        kind = noise.name
        if kind in ("correlated_rows", "correlated_columns"):  # (along one axis: the routes of correlated noise,
            # BM3D given the spectrum along it)
            kind = "correlated"
        if kind == "gaussian" and noise.gaussian_sigma is not None:
            level = float(noise.gaussian_sigma) * scale
            facts["sigma"] = level
            source = f"sigma {level:.3g} given" if scale == 1 else (  # (a 16-bit image's 150 said as 3.36: a QA pass)
                f"sigma {float(noise.gaussian_sigma):.4g} given ({level:.3g} in 8-bit units)")
            narrow_level = level * share
            white = True
        elif kind == "gaussian" and isinstance(noise.params.get("sigma"), tuple):
            # white Gaussian noise of a level in a range (as a blind model is trained): the level read, held to
            # the range, and the white-noise routes (it went to ZS-N2N: "no shipped model is trained for it")
            lo, hi = (float(v) * scale for v in noise.params["sigma"])
            part, part_valid, _ = _window(image, estimate.data_mask(mask, np.shape(image)), ESTIMATE_WINDOW)
            read = estimate.sigma((part - offset) * scale, mask=part_valid)
            level = min(max(read, lo), hi)
            facts["sigma"] = level
            source = (f"{noise} given: white Gaussian noise, its level read in that range: sigma {level:.3g}"
                      + ("" if level == read else f" (read {read:.3g})"))
            narrow_level = level * share
            white = True
        elif kind == "poisson":
            peak = noise.params.get("peak", 0.0)
            level = float(np.mean(peak)) if isinstance(peak, tuple) else float(peak)
            facts["peak"] = level
            # the Anscombe gain in the model's units, from the spec's own full scale (see stabilised)
            facts["poisson_alpha"] = float(noise.params.get("data_range", 255.0)) / level * scale
            facts["poisson_mu"] = -offset * scale
            source = f"peak {level:.3g} given"
            # the ranges hold peaks in the model's units: an image mapped to them (scale < 1 for the wide
            # spread of strong Poisson noise in 8-bit units) carries the peak 255 / alpha there
            given, level = level, 255.0 / facts["poisson_alpha"]
            if abs(level - given) > 1e-6 * given:  # (a peak 30 at 255 on [0, 1] data is 0.118 there: "30 given,
                # below the range 1..10" read as a contradiction, a QA re-check)
                full = float(noise.params.get("data_range", 255.0))
                source += f" ({level:.3g} in the model's 8-bit units: the spec counts at {full:g})"
            if not isinstance(peak, tuple):
                # weak: BM3D told the noise (the Anscombe transform of the given peak), as weak white noise given.
                # (Whatever the offset of the map to 8-bit units: the peak is of the values as they are, which
                # BM3D gets; a sky frame, all of whose values lie above 0, went to a shipped model far out of its
                # range, 5 times noisier than BM3D and biased, in a QA pass)
                valid = estimate.data_mask(mask, np.shape(image))  # (the mean of the data, in 8-bit units)
                mean_level = float(np.mean(image if valid is None else image[valid], dtype=np.float64)) * scale
                std_mean = float(np.sqrt(facts["poisson_alpha"] * max(mean_level, 0.0)))
                facts["std_at_mean"] = round(std_mean, 3)
                if std_mean < WEAK_POISSON_SIGMA:
                    weak_poisson = f"weak (std {std_mean:.3g} at the mean level, below {WEAK_POISSON_SIGMA:g})"
                    weak_kind = "declared"
        elif kind == "poisson_gaussian" and not any(isinstance(noise.params.get(k), tuple) for k in ("peak", "sigma")):
            # no model is trained for it. On a gray image whose peak a Poisson model's range holds, that model as
            # it is (on more channels the weak-light model only). Else, mostly shot noise at the image's mean
            # level: the generalised Anscombe transform makes it white with unit variance (see stabilised), which
            # the white-noise model removes; else the white-noise model as it is (DECLARED_SHOT_DOMINATES)
            row = _auto_model("gaussian", channels)
            if row is None:
                return Choice(None, "zs_n2n", f"{noise} given: no shipped model is trained for it", scale, facts,
                              offset)
            peak, sig = float(noise.params["peak"]), float(noise.params["sigma"])
            alpha = float(noise.params.get("data_range", 255.0)) / peak * scale  # in the model's units
            # the variances at the image's mean level, in the model's units (the Poisson part acts on the
            # image's own values, before the offset is taken away)
            level_at = float(np.mean((image - offset) * scale)) + offset * scale  # the image's mean level
            shot, read = alpha * max(level_at, 0.0), (sig * scale) ** 2
            fraction = shot / (shot + read) if shot + read > 0 else 0.0
            facts.update({"peak": peak, "shot_fraction": round(fraction, 3)})
            level = float(np.sqrt(shot + read))  # the noise std at the mean level, for the model as it is
            peak_units = 255.0 / alpha
            if channels == 1:
                # a gray image, its peak in a Poisson model's range: that model as it is, read noise and all. With
                # gray-poisson trained 30 minutes it was the best of the three routes, or within 0.02 dB of it, at
                # every peak 5-40 and sigma 0-60 (shot share 0.15-1) on the calibration images
                # (scripts/pg_route_calibration.py; BENCHMARKS.md, "Declared Poisson-Gaussian noise on gray
                # images: the Poisson model")
                to_poisson = any(_in_range(peak_units, r["range"]) for r in _auto_rows("poisson", 1))
            else:
                # more channels: only the weak-light model, at the level the planes it sees carry, as for Poisson
                # noise (CBSD68 at peak 2, sigma 3: 1.09 dB above the transform); the wide Poisson model on
                # the planes stays behind the transform route for Poisson noise alone (peak 30: 0.12 dB)
                narrow = _auto_model("poisson", channels, peak_units / share**2)
                to_poisson = narrow is not None and bool(narrow.get("narrow"))
            if to_poisson:
                kind, level = "poisson", peak_units
                facts.update({"poisson_alpha": alpha, "poisson_mu": -offset * scale})
                source = (f"{noise} given: its peak in a Poisson model's range (shot noise {fraction:.0%} of the "
                          f"variance at the image's mean level), that model as it is")
            # (beyond the white-noise model's range a mostly-read noise takes the white-noise route too, the image
            # scaled down to bring it to the top of the range: the transform, taken there up to this change, lost
            # 0.23-1.13 dB to it on the calibration images at sigma 45 and 60; BENCHMARKS.md, "Declared
            # Poisson-Gaussian noise beyond the white-noise model's range")
            elif shot >= DECLARED_SHOT_DOMINATES * read:
                facts.update({"gat_alpha": alpha, "gat_sigma": sig * scale, "gat_mu": -offset * scale})
                source = f"{noise} given"
                return Choice(Path(row["path"]), None, f"{source}: shipped model '{row['name']}' after the "
                              f"generalised Anscombe transform", scale, facts, offset, source)
            else:
                kind = "gaussian"
                facts["sigma"] = level
                source = (f"{noise} given: mostly signal-independent at the image's mean level (noise std there "
                          f"{level:.3g})")
        elif kind == "correlated":  # BM3D given its PSD; else its white part, as for an estimated correlated noise
            sig, beta = (float(np.mean(v)) if isinstance(v, tuple) else float(v)
                         for v in (noise.params["sigma"], noise.params["beta"]))
            pixels = int(image.shape[0]) * int(image.shape[1])
            psd = not noise.is_random_level and beta >= DECLARED_PSD_BETA
            if psd and bm3d_runs(pixels):
                return Choice(None, "bm3d", f"{noise} given: spatially correlated noise: {_PSD_WHY}", scale, facts,
                              offset, f"{noise} given")
            if psd:
                facts["psd_note"] = (f"BM3D given the noise's spectrum does better, but {_bm3d_blocked(pixels)}"
                                     + ("" if _bm3d_missing() else " (--method bm3d to run it)"))
            kind, level = "gaussian", sig * float(np.sqrt(max(0.0, 1.0 - beta))) * scale
            facts["sigma"] = level
            source = f"{noise} given: spatially correlated noise; {_WHITE_PART}; its white part: sigma {level:.3g}"
            if "psd_note" in facts:
                source += "; " + facts.pop("psd_note")
        else:
            return Choice(None, "zs_n2n", f"{noise} given: no shipped model is trained for it", scale, facts, offset)
    else:
        from ..classical import bilevel_levels

        levels = bilevel_levels(image) if channels == 1 else None
        if levels is not None:  # (1-bit scans went to BM3D at sigma 0.1, 23 s for no change, or a halftone's dots
            # to a model that greyed them: a document scans QA pass)
            return _bilevel_choice(image, levels, scale, offset, facts)
        img = image  # (mapped to 8-bit units below, once cut to the window the noise is read on)
        h, w = img.shape[:2]
        wh, ww = min(h, ESTIMATE_WINDOW), min(w, ESTIMATE_WINDOW)
        valid = estimate.data_mask(mask, img.shape)  # None where every pixel holds data
        if (wh, ww) != (h, w):
            centred = valid is None  # (under a mask: about the middle of the image data, or where most data lie)
            img, valid, (top, left) = _window(img, valid, ESTIMATE_WINDOW)
            where = "centre" if centred else f"rows {top}.., columns {left}.."
            facts["estimated_on"] = f"{where} {wh}x{ww}"
        img = (img - offset) * scale
        if valid is not None and valid.all():
            valid = None
        if valid is not None:
            facts["estimated_from"] = f"{int(np.count_nonzero(valid))} of {valid.size} pixels (the rest a fill)"
        corr_sigma, beta = noise_correlation(img, valid)
        along, axes = "both", {}
        if min(img.shape[:2]) >= CORRELATED_PSD_MIN_SIDE:
            # noise correlated along one axis (a line scan's, a scanning microscope's) reads a beta of about
            # 0.75 over both axes, whose spectrum spreads it over both: read along each (an SEM user's QA pass)
            reading = estimate.correlation_axes(img, mask=valid)
            axis_sigma, beta_rows, beta_columns = reading[:3]
            along = one_axis(reading, img.shape)
            axes = {"beta_along_rows": round(beta_rows, 3), "beta_along_columns": round(beta_columns, 3)}
            if along != "both":
                axes["correlated_along"] = along
                corr_sigma, beta = axis_sigma, max(beta_rows, beta_columns)
        facts["beta"] = round(beta, 3)
        facts.update(axes)
        peak, period = estimate.periodic_pattern(img, mask=valid)
        if peak >= PERIODIC_PEAK and minority_share(estimate.periodic_window(img)) >= PATTERN_INK_SHARE:
            # (a note: see pattern_note)
            facts["pattern_period"] = round(period, 2)
        facts["correlated_sigma"] = round(corr_sigma, 3)  # (the marginal std that reading gives)
        facts["stripes"] = tuple(round(s, 3) for s in estimate.stripes(img, mask=valid))  # (a note: stripes_note)
        correlated, psd_note = "", ""
        said_along = "" if along == "both" else f" along {along}"
        if beta > CORRELATED_BETA:
            correlated = (f"spatially correlated noise{said_along} (estimated beta {beta:.2f}); {_WHITE_PART}"
                          f"{'' if _bm3d_missing() else _BETA_AUTO}; its white part: ")
        sigmas = estimate.channel_sigmas(img, mask=valid)
        sigma = float(np.mean(sigmas))
        small = not estimate.fits_signal_dependence(img.shape)
        if small:  # too small an image to tell signal-dependent noise from white: read as white
            a, b, a_err = 0.0, sigma * sigma, float("inf")
        else:
            a, b, a_err = estimate.poisson_gaussian(img, stderr=True, mask=valid)
        data = img if valid is None else img[valid]
        mean_level = float(np.mean(data))
        facts["sigma"] = round(sigma, 3)
        if len(sigmas) > 1:  # (each channel's: a note where they differ, api.channel_levels_note)
            facts["sigma_channels"] = [round(s, 3) for s in sigmas]
        facts.update({"poisson_a": round(a, 4), "poisson_b": round(b, 3), "poisson_a_stderr": round(a_err, 4)})
        dominates = SHOT_DOMINATES_GRAY if channels == 1 else SHOT_DOMINATES
        # the level the shot noise is weighed at: the mean, or on a sparse image (bright objects on a dark
        # background, as fluorescence) the bright end, where the objects are (SPARSE_SHARE)
        level_ref, least = mean_level, 4.0  # (the shot variance there: at least 4, a std of 2)
        if SPARSE_SHARE > 0:
            median, bright, top = (float(v) for v in np.percentile(data, [50, 90, 99]))
            # (a dark background that holds noise: not a floor of one value, as a dark photo clipped at black, a
            # black fill or a letterbox, whose noise squeezed at 0 reads as a variance growing with the level: 13
            # of 24 dark photos with white noise read it as shot noise, in a QA pass)
            floor = float(np.mean(data <= float(np.min(data))))
            if top > 0 and median < SPARSE_SHARE * top and floor < SPARSE_FLOOR:
                # weighed at the 90th percentile: inside objects that cover a tenth of the image or more (a
                # fluorescence field's spots), on the background where they are few (the stars of a sky frame,
                # whose noise the sky's shot noise makes about even: weighed at its stars, it went to a model
                # route several times noisier on the sky than BM3D at the sigma read, a development run). There
                # a std of 1 is enough: the map to 8-bit units squeezes the objects' range (a std of 1.3, 100
                # photons at 10000 in a spot's peak, left the spots' noise whole: scripts/sparse_check.py)
                level_ref, least = max(mean_level, bright), 1.0
                facts["sparse"] = True
        low, centre, high = (float(v) for v in np.percentile(data, [1, 50, 99]))
        zero_at = -offset * scale  # (the data's own 0, in these units)
        signed = (low < zero_at - SIGNED_SIGMAS * sigma and high > zero_at + SIGNED_SIGMAS * sigma
                  and abs(centre - zero_at) <= SIGNED_CENTRE * (high - low))
        if signed:
            facts["signed"] = True
        poisson = (a > SLOPE_SIGNIFICANCE * a_err and a * level_ref > dominates * max(b, 0.0)
                   and a * level_ref > least and not signed)
        if not poisson or 255.0 / a >= IMPULSE_PEAK:  # impulses (white, read as correlated noise of a small sigma,
            # or as shot noise of many photons: a noise QA pass), where no shot noise of a few photons makes isolated
            # outliers too: ZS-N2N, as for --noise impulse:p=P
            impulses = estimate.impulse_share(img, mask=valid)
            facts["impulse_share"] = round(impulses, 5)
            if impulses > IMPULSE_SHARE and impulses * img.shape[0] * img.shape[1] >= IMPULSE_LEAST:
                return Choice(None, "zs_n2n", f"impulse noise: {100 * impulses:.2g}% of the pixels are isolated "
                                              f"outliers (over {100 * IMPULSE_SHARE:g}%), which no shipped model is "
                                              f"trained for", scale, facts, offset)
            if impulses >= SPIKE_SHARE:  # (spikes: a note, api.spikes_note)
                spikes = estimate.impulse_share(img, mask=valid, least=estimate.SPIKE_SIGMAS * sigma)
                if spikes >= SPIKE_SHARE and spikes * img.shape[0] * img.shape[1] / 2 >= SPIKE_LEAST:
                    facts["spike_share"] = round(spikes, 5)
        # (a weaker correlated reading is mostly fine texture under weak white noise, whose spectrum read is the
        # texture's: BM3D given it smoothed the texture away; see CORRELATED_PSD_BETA)
        strongly_correlated = (beta > CORRELATED_BETA and (beta >= CORRELATED_PSD_BETA or along != "both")
                               and min(img.shape[:2]) >= CORRELATED_PSD_MIN_SIDE)
        texture = ""  # why a strong correlated reading is taken for image texture, not the noise's spectrum
        if strongly_correlated and sigma < CORRELATED_PSD_WHITE_SHARE * corr_sigma:
            texture = (f"its finest grain (white sigma {sigma:.3g}) is {sigma / corr_sigma:.3f} of its sigma, under "
                       f"{CORRELATED_PSD_WHITE_SHARE:g}")
        elif (strongly_correlated and along != "both" and beta < ONE_AXIS_FIRM_BETA
              and sigma < ONE_AXIS_WHITE_SHARE * corr_sigma):
            texture = (f"read along one axis at beta {beta:.2f} (under {ONE_AXIS_FIRM_BETA:g}), its finest grain "
                       f"(white sigma {sigma:.3g}) is {sigma / corr_sigma:.3f} of its sigma, under "
                       f"{ONE_AXIS_WHITE_SHARE:g}")
        elif strongly_correlated and np.isfinite(CORRELATED_PSD_GROWTH):
            part, part_valid, _ = _window(img, valid, GROWTH_WINDOW)
            growth = estimate.correlation_growth(part, mask=part_valid)
            facts["correlation_growth"] = round(growth, 3)
            if growth > CORRELATED_PSD_GROWTH:
                texture = (f"its sigma grows {growth:.3g} times from the flattest 3% of the pixels to 30%, over "
                           f"{CORRELATED_PSD_GROWTH:g}")
        if texture:
            strongly_correlated = False
            correlated = (f"spatially correlated noise{said_along} (estimated beta {beta:.2f}, sigma {corr_sigma:.3g}, "
                          f"read as image texture, not noise: {texture}){'' if _bm3d_missing() else _BETA_AUTO}; "
                          "its white part: ")  # (the way to take it, where it is noise: a film-scan QA pass found
        # a flat field's grain, which holds no white part, left as it was with no word of it)
        if strongly_correlated and poisson:
            # the Poisson fit reads strong correlated noise as weak shot noise (on 6 of the 16 train400 calibration
            # images at correlated sigma 25, beta 1: BENCHMARKS.md), but a few photons (a dark image of mostly
            # zeros) can read as correlated too: a Poisson reading inside a Poisson model's range keeps that route
            tops = [float(r["range"][1]) for r in _auto_rows("poisson", 1)]
            strongly_correlated = not tops or 255.0 / a > max(tops) * RANGE_SLACK
        pixels = int(image.shape[0]) * int(image.shape[1])
        if (PATTERN_BM3D and facts.get("pattern_period") and channels == 1 and not poisson and noise is None
                and along == "both" and bm3d_runs(pixels)):
            # (not over a reading along one axis, noise or texture: row noise's streaks can read as a pattern, an
            # AFM's at 16 px, and went to BM3D at its white part, a re-check)
            told, what = _told_sigma(image, mask, scale, sigma, facts)
            facts["pattern_route"] = True
            source = f"white Gaussian noise, estimated sigma {sigma:.3g}"
            period = facts["pattern_period"]
            # (no word of a correlated reading, the pattern's own: its advice, beta=auto, took a lattice for noise and
            # left it below the noisy input, a re-check)
            return Choice(None, "bm3d", f"{source}, on a regular pattern of period {period:.2g} px (a lattice, a "
                          f"screen; any correlated reading is the pattern's): BM3D at {what}, whose blocks match "
                          f"across the pattern's repeats (the shipped models smooth it)", scale, facts, offset, source,
                          {"sigma": told / scale})
        if strongly_correlated:
            # strongly correlated: BM3D given the spectrum of the noise as read
            psd_source = (f"spatially correlated noise{said_along}, estimated sigma {corr_sigma:.3g} (its white part "
                          f"{sigma:.3g}), beta {beta:.2f}")
            axis_option = {} if along == "both" else {"along": along}
            if bm3d_runs(pixels):
                return Choice(None, "bm3d", f"{psd_source}: {_PSD_WHY}", scale, facts, offset, psd_source,
                              {"sigma": corr_sigma / scale, "beta": beta, **axis_option})
            psd_note = (f"; BM3D given the noise's spectrum does better, but {_bm3d_blocked(pixels)}" + (
                "" if _bm3d_missing() else
                f" (--method bm3d --set sigma={corr_sigma / scale:.3g} --set beta={beta:.2f}"
                + (f" --set along={along}" if axis_option else "") + " to run it)"))
        if poisson:
            kind, level = "poisson", 255.0 / a
            facts["peak"] = round(level, 2)
            std_mean = float(np.sqrt(max(a * mean_level + max(b, 0.0), 0.0)))
            zero = -b / (a * mean_level) if mean_level > 0 else float("-inf")  # where a * x + b reaches 0, / mean
            facts.update({"std_at_mean": round(std_mean, 3), "zero_level": round(zero, 3)})
            source = f"signal-dependent noise, estimated peak {level:.3g}"
            if std_mean < WEAK_POISSON_SIGMA:  # (the transform of the reading from the offset of the map to 8-bit
                # units, given to BM3D as its black level: where it was not 0, as under a camera's black level, the
                # route was not taken, a camera sensor QA pass. Kept from sparse images too (where most pixels are
                # dark): it lost on sparse_check's fluorescence spots on an offset of 100 counts (RMSE 3.23 to 3.32
                # at 1000 photons, 7.56 to 8.40 at 3000; 17.51 to 15.72 at 10000), and raw mosaics' planes in linear
                # light read as sparse too: kept from them, 11 CBSD68 photos as 12-bit mosaics at 80% exposure lost
                # 0.96 dB on average, three of them 2.1 to 4.5 dB, in a re-check)
                weak_kind = "white" if zero > POISSON_ZERO_LEVEL else "reading"
            if weak_kind:
                weak_poisson = f"weak (std {std_mean:.3g} at the mean level, below {WEAK_POISSON_SIGMA:g})"
                if weak_kind == "white":
                    weak_poisson += (f", its variance line reaching 0 at {zero:.2f} of the mean level (over "
                                     f"{POISSON_ZERO_LEVEL:g}: texture whose contrast grows with the brightness, read "
                                     f"as shot noise; white sigma {sigma:.3g})")
                    weak_options = {"sigma": max(sigma, WEAK_SIGMA_FLOOR) / scale}
                else:  # (in the image's units: variance (a / scale) * (x - offset) + b / scale**2)
                    weak_options = {"gain": a / scale}
                    if b > 0:
                        weak_options["sigma"] = float(np.sqrt(b)) / scale
                    if offset != 0:
                        weak_options["black"] = offset
        else:
            kind, level, white = "gaussian", sigma, True
            small_note = " (the image is too small to test for signal-dependent noise)" if small else ""
            source = f"white Gaussian noise{small_note}, estimated sigma {sigma:.3g}"
            # the noise level at the bright end, where a signal-dependent part too weak to count as Poisson
            # still raises it (a Poisson-Gaussian noise read as white sigma 18 lost 2.2 dB with the narrow
            # model, whose range it left in bright areas). A correlated reading takes the narrow model too where
            # the level is in its range: at weak levels that reading is mostly fine texture, and on the gray
            # calibration images the narrow model was ahead of the wide one on such readings at white sigma 5-10
            # (0.24-0.49 dB on them) and at correlated beta 0.5, sigma 5 and 10 (0.45, 0.25), 0.07 dB behind at
            # sigma 25 (BENCHMARKS.md, "Very weak noise")
            bright = max(float(np.percentile(data, 99)), 0.0)
            sigma_bright = max(sigma, float(np.sqrt(max(a, 0.0) * bright + max(b, 0.0))))
            facts["sigma_bright"] = round(sigma_bright, 3)
            narrow_level = sigma_bright * share
        source = correlated + source + psd_note
    pixels = int(image.shape[0]) * int(image.shape[1])

    def too_long() -> str:  # (said where it is so: BM3D's import, to tell whether it runs, is not free)
        return (f"; weak noise, where BM3D does better, but it {_bm3d_blocked(pixels)}"
                + ("" if _bm3d_missing() else " (--method bm3d to run it)")
                + ("; the model's result keeps the image's local mean" if LOCAL_MEAN_SIGMA > 0 else ""))

    if (white and level < min(WEAK_SIGMA, JPEG_MODEL_SIGMA) and noise is None and scale == 1 and offset == 0
            and _coarse_jpeg(img, facts, valid)):
        # a JPEG as decoded, quantised coarsely, the noise read weak: noise compressed with it reads weaker than it
        # is, and the general model, blind to the level, removes it (JPEG_MODEL_SIGMA): not BM3D at the sigma read,
        # nor, on an image too large for BM3D, the narrow model
        narrow_level, white = None, False
        source += (f", weak, but the image is a JPEG as its decoder left it, coarsely quantised (8x8 blocks, "
                   f"rounding spread {facts['jpeg_rounding']:.2f}), whose compression removes the fine grain of noise "
                   f"compressed with it: such noise reads weaker than it is")
    if white and level < WEAK_SIGMA:
        # (a weak noise read as correlated too: at such levels that reading is mostly fine texture)
        if bm3d_runs(pixels):
            # (no white noise measured at all, sigma 0 as on some real photos whose noise is all coarse grain:
            # BM3D at a floor of 0.1 changes next to nothing, and needs a positive sigma)
            told, what = _told_sigma(image, mask, scale, level, facts)
            # (the last part names no per-image figure: noise2x bench groups the images by it)
            return Choice(None, "bm3d", f"{source}, weak (below sigma {WEAK_SIGMA:g}): BM3D with {what}, not a "
                                        f"shipped model (blind to the level, they took fine texture for noise "
                                        f"there)", scale, facts, offset, source, {"sigma": told / scale})
        source += too_long()
        facts["keep_local_mean"] = LOCAL_MEAN_SIGMA
    if weak_poisson:
        # a weak noise read as signal-dependent: BM3D after the transform of the reading (the shipped models, blind to
        # the level, took fine texture for noise there); where the fit looks like texture, BM3D with the white sigma
        if bm3d_runs(pixels):
            blind = "not a shipped model (blind to the level, they took fine texture for noise there)"
            what = {"white": "BM3D with the white sigma read, not the Poisson route",
                    "reading": f"BM3D after the {'generalised ' if 'sigma' in weak_options else ''}Anscombe transform "
                               f"of that reading, {blind}",
                    "declared": f"BM3D after the Anscombe transform of that peak, {blind}"}[weak_kind]
            return Choice(None, "bm3d", f"{source}, {weak_poisson}: {what}", scale, facts, offset, source, weak_options)
        source += too_long()
        facts["keep_local_mean"] = LOCAL_MEAN_SIGMA
    if kind == "poisson":
        # a narrow Poisson model (gray-poisson-low: weak light, peaks 1..10) for a peak inside its range, at the
        # level the planes it sees carry: an RGB photo's luminance/chrominance planes carry noise of std up to
        # plane_share times the channels', as Poisson noise of peak / share**2 would. There it takes the planes
        # as they are, not the Anscombe route of the wide model (see stabilised): on CBSD68 photos 1.1 dB
        # higher at peak 2, 0.46 at 4, 0.21 lower at 8 (BENCHMARKS.md, "A weak-light model")
        narrow_level = level / share**2
    row = _auto_model(kind, channels, narrow_level)
    if kind == "poisson" and narrow_level is not None and row is not None and narrow_level < float(row["range"][0]):
        # stronger than every Poisson model's range: the one trained on the strongest noise, all the same
        row = min(_auto_rows("poisson", int(row.get("channels", 1))), key=lambda r: float(r["range"][0]))
        narrow_level = narrow_level if row.get("narrow") else None
    if row is None:
        what = "gray" if channels == 1 else f"{channels}-channel"
        return Choice(None, "zs_n2n", f"{source}; no shipped model for {what} images with {kind} noise", scale,
                      facts, offset)
    lo, hi = float(row["range"][0]), float(row["range"][1])
    if row.get("narrow") and narrow_level is not None:  # taken for the level its planes carry: as it is
        level = float(narrow_level)
    gaussian = _auto_model("gaussian", channels) if kind == "poisson" else None
    if gaussian is not None and level > hi * RANGE_SLACK:
        # weaker Poisson noise than the Poisson model was trained on (was ZS-N2N): the Anscombe transform makes
        # it white, within the white-noise model's range, which that model removes (see stabilised)
        # a declared peak: the gain and offset set above from the spec's full scale; an estimated one: model units
        alpha, mu = facts.get("poisson_alpha", 255.0 / level), facts.get("poisson_mu", 0.0)
        read = _estimated_read(facts)
        facts.update({"gat_alpha": alpha, "gat_sigma": read, "gat_mu": mu, "gat_transform": _transform_name(facts)})
        source = f"{source}, above the range {lo:g}..{hi:g} of the shipped model '{row['name']}'"
        which = "generalised Anscombe" if read > 0 else "Anscombe"
        return Choice(Path(gaussian["path"]), None, f"{source}: shipped model '{gaussian['name']}' after the "
                      f"{which} transform", scale, facts, offset, source)
    if kind == "gaussian" and level > hi * RANGE_SLACK:
        # stronger white noise than the model was trained on (was ZS-N2N): the image scaled down brings its
        # noise to the top of the model's range (BENCHMARKS.md, "Noise stronger than the models' range")
        gain = hi / level
        scale *= gain
        facts["level_gain"] = round(gain, 4)
        source = (f"{source}, above the model's range {lo:g}..{hi:g} (the image scaled by {gain:.3g} to bring it "
                  f"to {hi:g})")
    elif kind == "poisson" and level < lo / RANGE_SLACK:
        # stronger Poisson noise than the model was trained on (was ZS-N2N): the model all the same (same section)
        source = f"{source}, below the model's range {lo:g}..{hi:g} (used all the same)"
    elif not _in_range(level, row["range"]):
        return Choice(None, "zs_n2n", f"{source}, outside the range {lo:g}..{hi:g} of the "
                                      f"shipped model '{row['name']}'", scale, facts, offset)
    planes = ""
    if int(row.get("channels", 1)) == 1 and channels > 1:
        planes = f", applied plane by plane to the {channels} channels"
        if row.get("narrow") and share < 1:  # why a model for sigma 0..20 takes a photo read at sigma 25, say
            what = (f"of sigma up to {level:.3g}" if kind == "gaussian"
                    else f"as Poisson noise of peak {level:.3g} would")
            planes += f" (its luminance/chrominance planes carry noise {what})"
    return Choice(Path(row["path"]), None, f"{source}: shipped model '{row['name']}' ({row['description']}){planes}",
                  scale, facts, offset, source)
