"""Reruns tests/layers/test_layers.py, test_pooling.py, test_subset_pooling.py and
test_chebconv_checks.py on the Keras backend this process is *not* using.

The Keras backend is fixed when keras is imported, so the second backend needs its own
process. Both TensorFlow and JAX must pass; the JAX run is skipped only if jax is missing.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

ROOT = Path(__file__).resolve().parents[2]
OTHER = {"tensorflow": "jax", "jax": "tensorflow"}.get(keras.backend.backend())


@pytest.mark.slow
@pytest.mark.skipif(OTHER is None, reason="layers support only the tensorflow and jax backends")
def test_layers_pass_on_the_other_backend():
    if importlib.util.find_spec(OTHER) is None:
        pytest.skip(f"{OTHER} is not installed")
    env = dict(os.environ, KERAS_BACKEND=OTHER, TF_CPP_MIN_LOG_LEVEL="3")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           "tests/layers/test_layers.py", "tests/layers/test_pooling.py",
           "tests/layers/test_subset_pooling.py",
           "tests/layers/test_chebconv_checks.py"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (
        f"KERAS_BACKEND={OTHER}:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    )
