"""Results files are deterministic and JSON-clean."""
import math

import numpy as np
import pytest

from analysis.results import read_results, write_results


def test_same_payload_same_bytes(tmp_path):
    payload = {"b": np.float64(0.1) + 0.2, "a": [np.int64(3), 1.5], "nan": float("nan"), "flag": np.bool_(True)}
    first = write_results(tmp_path / "one.json", payload).read_bytes()
    second = write_results(tmp_path / "two.json", dict(reversed(list(payload.items())))).read_bytes()
    assert first == second
    loaded = read_results(tmp_path / "one.json")
    assert loaded["nan"] is None and loaded["flag"] is True and loaded["a"] == [3, 1.5]
    assert math.isclose(loaded["b"], 0.30000000000000004)


def test_unserialisable_value_is_refused(tmp_path):
    with pytest.raises(TypeError, match="cannot write"):
        write_results(tmp_path / "x.json", {"x": object()})
    assert not (tmp_path / "x.json").exists()
