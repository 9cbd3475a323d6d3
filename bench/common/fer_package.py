"""The `fer` package (PyPI), the comparison target, in the worker processes that import it.

`fer` 25.10.3 needs `pkg_resources` only for `resource_filename` (to find the model file inside
its own wheel); setuptools >= 81 no longer ships that module, so a stand-in is provided here
rather than pinning an old setuptools into the project's environment.
"""

from __future__ import annotations

import sys
import types


def provide_pkg_resources() -> None:
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        from importlib.resources import files

        shim = types.ModuleType("pkg_resources")
        shim.resource_filename = lambda package, resource: str(files(package).joinpath(resource))  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = shim
