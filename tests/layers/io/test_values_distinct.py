"""parse_count parses each distinct text once: the answers equal parsing every value on its own."""

from __future__ import annotations

import numpy as np
import pandas as pd

from layers.io.values import _parse_distinct, parse_capacity, parse_count, parse_levels


def test_distinct_parse_equals_value_by_value():
    texts = ["100 Orang", "200-300", "1.000", "1,500 orang", "fix me", "", " 3+ ", "4-7", ">7", "0", "2.5", None]
    rng = np.random.default_rng(0)
    values = pd.Series(np.array(texts, dtype=object)[rng.integers(0, len(texts), 5_000)], index=np.arange(5_000) * 3)
    for ranges in ("low", "mid"):
        got = parse_count(values, ranges=ranges)
        # The regular expressions run over every value, as before the distinct-value shortcut.
        expected = _parse_distinct(values.astype(object), ranges)
        pd.testing.assert_series_equal(got, expected, check_names=False)
    by_hand = parse_count(pd.Series(texts, dtype=object), ranges="mid").tolist()
    assert by_hand[:4] == [100.0, 250.0, 1000.0, 1500.0]
    assert np.isnan(by_hand[4])
    assert np.isnan(by_hand[5])
    assert np.isnan(by_hand[-1])
    assert parse_levels(pd.Series(["10+", "4-7", pd.NA], dtype="string")).tolist()[:2] == [10.0, 5.5]
    assert parse_capacity(pd.Series(["100 Orang", "1.000"])).tolist() == [100.0, 1000.0]
