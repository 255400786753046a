"""The hardware label recorded beside every timing: GPU name(s), else the CPU model."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

__all__ = ["hardware_label"]


def hardware_label() -> str:
    """The device inference ran on: GPU name(s) if TensorFlow sees one, else the CPU model.

    TensorFlow is asked only if this process already imported it (a network run): an SVM run
    never uses it, and importing it just for the label costs seconds per job. On the JAX
    backend the device kind of JAX's first device is used.
    """
    tf = sys.modules.get("tensorflow")
    jax = sys.modules.get("jax")
    try:
        if tf is not None:
            gpus = tf.config.list_physical_devices("GPU")
            names = [tf.config.experimental.get_device_details(g).get("device_name", g.name)
                     for g in gpus]
            if names:
                return "GPU: " + ", ".join(names)
        if jax is not None:
            devices = [d for d in jax.devices() if d.platform != "cpu"]
            if devices:
                return "GPU: " + ", ".join(sorted({d.device_kind for d in devices}))
    except Exception:  # noqa: BLE001 - no device details: fall back to the CPU
        pass
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"CPU: {model or platform.processor() or platform.machine()} ({os.cpu_count()} cores)"
