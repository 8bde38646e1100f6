"""The vectorised snapping equals Syne Tune's own from_ndarray/to_ndarray round trip."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from syne_tune.config_space import (
    choice,
    finrange,
    logfinrange,
    lograndint,
    loguniform,
    ordinal,
    randint,
    uniform,
)

from syne_autoterm.posterior import ConfigEncoder

SPACE = {
    "x": uniform(-1, 1),
    "lr": loguniform(1e-4, 1),
    "opt": choice(["a", "b", "c"]),
    "n": randint(1, 64),
    "m": lograndint(2, 512),
    "b": choice(["u", "v"]),
    "o": ordinal([1, 2, 4, 8]),
    "f": finrange(0.1, 0.5, 5),
    "g": logfinrange(1, 100, 7),
    "big": randint(0, 15000),
    "const": 5,
}
ENCODER = ConfigEncoder(SPACE)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_snap_equals_syne_tune_round_trip(seed):
    x = np.random.RandomState(seed).uniform(-0.1, 1.1, size=(200, ENCODER.n_features))
    np.testing.assert_allclose(
        ENCODER.snap(x), ENCODER._snap_by_round_trip(np.clip(x, 0, 1)), atol=1e-9
    )


def test_random_configs_are_valid_and_cover_every_choice():
    x = ENCODER.random(3000, np.random.RandomState(0))
    np.testing.assert_allclose(ENCODER.snap(x), x)
    configs = [ENCODER.decode(row) for row in x[:300]]
    assert {c["opt"] for c in configs} == {"a", "b", "c"}
    assert all(2 <= c["m"] <= 512 and isinstance(c["m"], int) for c in configs)
    # loguniform: uniform in the encoding, so about half the mass below sqrt(1e-4)
    lr = np.array([c["lr"] for c in configs])
    assert 0.4 < np.mean(lr < 1e-2) < 0.6


def test_reused_rows_equal_a_fresh_encoding():
    """Rows come back from the cache by object, by equal content, or fresh, and
    always equal what encoding the configs anew gives."""
    from syne_autoterm.posterior import EncodedRows, encode_configs, encode_reusing

    configs = [ENCODER.decode(row) for row in ENCODER.random(12, np.random.RandomState(0))]
    cache = EncodedRows()
    first = encode_reusing(ENCODER, configs[:8], cache)
    np.testing.assert_array_equal(first, encode_configs(ENCODER, configs[:8]))
    assert len(cache.by_id) == 8
    # the same objects again, new ones, and equal dicts that are other objects
    copies = [dict(c) for c in configs[:4]]
    again = encode_reusing(ENCODER, configs + copies, cache)
    np.testing.assert_array_equal(again, encode_configs(ENCODER, configs + copies))
    assert len(cache.by_key) == 12 and len(cache.by_id) == 16
    # an id whose entry holds another object (the id was reused) is not trusted
    other = {**configs[0], "x": -configs[0]["x"]}
    cache.by_id[id(other)] = cache.by_id[id(configs[0])]
    np.testing.assert_array_equal(
        encode_reusing(ENCODER, [other], cache), encode_configs(ENCODER, [other])
    )
    assert not np.array_equal(
        encode_configs(ENCODER, [other]), encode_configs(ENCODER, [configs[0]])
    )
