"""The tracker's Hungarian assignment (scipy's ``linear_sum_assignment``) without the rest of
``scipy.optimize``.

Importing ``scipy.optimize`` loads every solver it has (HiGHS, sparse linear algebra, ...): ~46
MB of resident memory in the daemon, of SPEC 10's 400, for the one function the tracker uses.
That function lives in a compiled module of its own, which is loaded here by itself; should a
scipy release move it, the public import is used instead.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy

__all__ = ["linear_sum_assignment"]

_MODULE = "scipy.optimize._lsap"


def _load() -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    folder = Path(scipy.__file__).parent / "optimize"
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = folder / f"_lsap{suffix}"
        if path.is_file():
            loader = importlib.machinery.ExtensionFileLoader(_MODULE, str(path))
            spec = importlib.util.spec_from_loader(_MODULE, loader)
            if spec is not None:
                module = importlib.util.module_from_spec(spec)
                loader.exec_module(module)
                found = getattr(module, "linear_sum_assignment", None)
                if callable(found):
                    return found
    from scipy.optimize import linear_sum_assignment as public

    return public


linear_sum_assignment = _load()
