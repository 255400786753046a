"""Benchmark: one training step of the paper's climate U-Net on this CPU, and ChebConv's share.

One command, a Markdown table out (also written to ``benchmarks/results/climate_training_step.md``)::

    .venv/bin/python benchmarks/climate_training_step.py              # main, batch 4
    .venv/bin/python benchmarks/climate_training_step.py --architecture jiang --batch 8

The model is the paper config's (``config/config.yaml`` ``climate.architectures``): level-5
input (10,242 vertices, 16 channels), K = 4, the real kNN k = 6 graphs of levels 5..0 with
their rescaled combinatorial Laplacians. Timed: a compiled training step (forward, backward,
Adam update; weighted cross-entropy) on random inputs, median over ``--repeats`` after warm-up.

ChebConv's share of the step, bracketed two ways (neither is exact: TensorFlow overlaps ops):
- from below, by ablation: the same network with K = 1 (every ChebConv a pointwise product, no
  Laplacian): ``(t(K) - t(1)) / t(K)`` is the share of the Chebyshev recursion (the sparse
  products and the K-fold wider weight product), which leaves out the K = 1 product itself;
- from above: each ChebConv layer alone, compiled forward + backward (gradients with respect
  to its input and its filter weights) at the input shape it sees in the network, summed over
  the layers, over the step time (each call pays its own dispatch, and the step runs
  independent ops side by side on the threads, so this overcounts; it can exceed 100 %).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _laplacians(cfg):
    from deepsphere.geometry.graphs import build_graph, graph_id
    from deepsphere.models.config import level_definitions, validate_model_config

    return {graph_id(d): build_graph(d) for d in level_definitions(validate_model_config(cfg))}


def _median_time(fn, repeats):
    fn()  # warm-up (compiles)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--architecture", default="main")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/climate_training_step.md"))
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    from deepsphere.experiments.climate import plan
    from deepsphere.layers import ChebConv
    from deepsphere.models.spherical import build_model, trainable_parameter_count
    from deepsphere.runtime.hardware import hardware_label
    from deepsphere.training.runtime import configure_runtime

    configure_runtime(args.threads)
    paper = yaml.safe_load((ROOT / "config/config.yaml").read_text())["climate"]
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(args.batch, 10242, 16)).astype("float32"))
    y = tf.constant(rng.integers(0, 3, size=(args.batch, 10242)).astype("int32"))
    w = tf.constant(rng.uniform(0.3, 300, size=(args.batch, 10242)).astype("float32"))
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def step_time(K):
        cfg = plan.model_config({**paper, "model": {**paper["model"], "K": K}},
                                args.architecture)
        t0 = time.perf_counter()
        model = build_model(cfg, laplacians=_laplacians(cfg))
        build_s = time.perf_counter() - t0
        optimizer = keras.optimizers.Adam(1e-3)

        @tf.function(jit_compile=False)
        def step():
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True), sample_weight=w)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            return loss

        return model, build_s, _median_time(lambda: step().numpy(), args.repeats)

    K = int(paper["model"]["K"])
    model, build_s, step_s = step_time(K)
    step1_s = step_time(1)[2]

    # every ChebConv alone, at the input shape it sees in the network
    rows, cheb_s = [], 0.0
    for layer in model.layers:
        if not isinstance(layer, ChebConv):
            continue
        shape = (args.batch, *layer.input.shape[1:])
        xin = tf.constant(rng.normal(size=shape).astype("float32"))

        @tf.function(jit_compile=False)
        def alone(layer=layer, xin=xin):
            with tf.GradientTape() as tape:
                tape.watch(xin)
                out = layer(xin)
                loss = tf.reduce_sum(out * out)
            return tape.gradient(loss, [xin, *layer.trainable_variables])

        s = _median_time(lambda f=alone: [g.numpy() for g in f()], args.repeats)
        cheb_s += s
        rows.append((layer.name, shape[1], shape[2], layer.filters, s))

    lines = [
        f"Command: `python benchmarks/climate_training_step.py --architecture "
        f"{args.architecture} --batch {args.batch}` ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{hardware_label()}, {args.threads} threads, TensorFlow {tf.__version__}, Python "
        f"{platform.python_version()}, 1-min load {os.getloadavg()[0]:.1f} at the end).",
        "",
        f"| architecture | parameters | batch | step s (K = {K}) | s per sample | step s (K = 1) "
        "| ChebConv alone, summed s | ChebConv share: from below (ablation) | from above "
        "(layers alone) |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {args.architecture} | {trainable_parameter_count(model):,} | {args.batch} | "
        f"{step_s:.3f} | {step_s / args.batch:.3f} | {step1_s:.3f} | {cheb_s:.3f} | "
        f"{100 * (step_s - step1_s) / step_s:.0f} % | {100 * cheb_s / step_s:.0f} % |",
        "",
        f"Graphs and model built in {build_s:.1f} s. Each ChebConv alone (forward + backward, "
        f"K = {K}):",
        "",
        "| layer | vertices | in features | out features | s |",
        "|---|---|---|---|---|",
        *[f"| {n} | {v:,} | {fi} | {fo} | {s:.4f} |" for n, v, fi, fo, s in rows],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    Path(args.out).write_text(text)
    return text


if __name__ == "__main__":
    main()
