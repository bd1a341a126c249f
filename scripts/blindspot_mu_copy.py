#!/usr/bin/env python
"""Copy a blindspot model file with ``posterior_mean=false`` (it then denoises with the prior mean mu).

Usage: python scripts/blindspot_mu_copy.py MODEL.safetensors OUT.safetensors
(`noise2x bench` takes model files, so the copy benchmarks mu beside the posterior mean.)
"""

import sys

from noise2x.checkpoint import read_metadata, update_metadata

src, out = sys.argv[1], sys.argv[2]
opts = dict(read_metadata(src)["method_options"], posterior_mean=False)
print(update_metadata(src, {"method_options": opts}, out=out))
