"""Lazy re-exports for packages (PEP 562): a name is imported from its module when first used."""
from __future__ import annotations

from importlib import import_module


def lazy_exports(namespace: dict, public: dict[str, str]):
    """``__getattr__`` and ``__dir__`` for the package whose globals are `namespace`, re-exporting
    each name of `public` (name -> module) on first access.

    >>> getattr_, dir_ = lazy_exports({"__name__": "pkg"}, {"sqrt": "math"})
    >>> getattr_("sqrt")(9.0), "sqrt" in dir_()
    (3.0, True)
    """
    def __getattr__(name):
        if name in public:
            return getattr(import_module(public[name]), name)
        raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(namespace) | set(public))

    return __getattr__, __dir__
