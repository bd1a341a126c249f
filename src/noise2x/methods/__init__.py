"""Training methods; ``METHODS`` maps each name (== module == CLI value) to its class."""

from __future__ import annotations

from .base import Method
from .blindspot import BlindSpot
from .gan import GAN
from .neighbor2neighbor import Neighbor2Neighbor
from .noise2noise import Noise2Noise
from .noise2same import Noise2Same
from .noise2same_pro import Noise2SamePro
from .noise2self import Noise2Self
from .noise2void import Noise2Void
from .supervised import Supervised

METHODS = {
    "supervised": Supervised,
    "noise2noise": Noise2Noise,
    "noise2void": Noise2Void,
    "noise2self": Noise2Self,
    "noise2same": Noise2Same,
    "noise2same_pro": Noise2SamePro,
    "neighbor2neighbor": Neighbor2Neighbor,
    "blindspot": BlindSpot,
    "gan": GAN,
}


def get_method(name: str, options=None) -> Method:
    """Instantiate method ``name`` with ``options`` (dataclass, dict or None).

    Raises
    ------
    UsageError
        Unknown name (the message lists the valid ones) or invalid options.
    """
    from ..errors import UsageError

    try:
        cls = METHODS[name]
    except KeyError:
        raise UsageError(f"unknown method {name!r}; trainable methods: {', '.join(METHODS)}") from None
    return cls(options)


__all__ = ["METHODS", "Method", "get_method"]


# ``noise2x.methods`` is both this package and the API function ``noise2x.methods()`` (the available methods).
# Once the package is imported, the attribute ``methods`` of ``noise2x`` is the package, so the package itself
# must be callable, as ``noise2x.train`` is (noise2x/train.py).
import sys as _sys  # noqa: E402
from typing import Any as _Any  # noqa: E402


class _CallableModule(type(_sys)):
    def __call__(self, *args: _Any, **kwargs: _Any) -> _Any:
        from ..api import available_methods

        return available_methods(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule


def _as_the_api_function() -> None:
    """The API function's signature on the package that stands for it (as noise2x.train's)."""
    import inspect

    from ..api import available_methods

    module = _sys.modules[__name__]
    module.__signature__ = inspect.signature(available_methods)  # type: ignore[attr-defined]
    module.__doc__ = f"noise2x.methods(): {available_methods.__doc__}\n\nThe package: {module.__doc__}"


_as_the_api_function()
