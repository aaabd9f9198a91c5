"""The claims: registry (``claims.yaml``), the verdict vocabulary and rules, the scoreboard,
and one module per claim id (``response_rates``, ``dti_neuroplasticity``, ``fmri_prediction``).

The claim modules are imported by name (``from analysis.claims import dti_neuroplasticity``);
this package's top level stays light.
"""
from .registry import load_registry, registry_entry
from .scoreboard import scoreboard_markdown
from .verdicts import (DATA_VERDICTS, NOT_TESTABLE, SOURCE_CHECKS, VERDICTS, overall_source_check,
                       overall_verdict, subclaim)

__all__ = ["load_registry", "registry_entry", "scoreboard_markdown", "VERDICTS", "DATA_VERDICTS", "NOT_TESTABLE",
           "SOURCE_CHECKS", "subclaim", "overall_verdict", "overall_source_check"]
