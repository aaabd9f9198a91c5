"""Process-level settings for short-lived commands that import large libraries."""
from __future__ import annotations

__all__ = ["freeze_objects"]


def freeze_objects(*, collect: bool = False) -> int:
    """Move every object allocated so far into the garbage collector's permanent generation
    (:func:`gc.freeze`); returns how many are frozen. For short-lived processes that import
    large libraries: the Snakemake process and the ``python -m analysis`` commands.

    A full collection walks every tracked object, and the interpreter runs collections at exit
    and during loops that allocate; with Snakemake's, dipy's or nilearn's import chain loaded each
    walk is long (``make profile`` shows it; ``benchmarks/README.md`` lists the measures). Frozen
    objects are not walked. Objects allocated after the call are collected as usual; those before
    it are never freed by the collector (reference counting still frees them), which is harmless
    in a process that ends after its work and wrong for a notebook kernel or a long-lived service
    (:func:`gc.unfreeze` undoes it). ``collect=True`` first collects what is garbage already, so
    that it is not kept.
    """
    import gc

    if collect:
        gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
