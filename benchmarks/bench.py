"""keraslab benchmark: fit on TensorFlow and on JAX, side by side, against a matmul roofline.

    make bench                           # full run: about 5-8 minutes on 2 cores (18 processes)
    python benchmarks/bench.py --smoke   # tiny sizes, under a minute; what tests/test_bench_smoke.py runs

Keras 3 reads ``KERAS_BACKEND`` once, at import, so every measurement runs in a child process of
its own (``python benchmarks/bench.py --child ...`` with ``KERAS_BACKEND`` set, writing one JSON
result), and the configurations alternate across repeats (a, b, c, d, roofline TF, roofline JAX,
a, b, c, d, ...) so drift on a busy machine hits them alike; every figure is a median over repeats.

Sections:

1. ``fit`` of lesson 02's MLP (``keraslab.models.mnist_mlp``, 784-256-64-32-10; Adam,
   ``sparse_categorical_crossentropy``, accuracy; batch 32; MNIST 50,000 train + the last 10,000
   training images as validation, as lesson 02 splits them) in four configurations:
   (a) the course material's plain code on TensorFlow: float64 NumPy (``x / 255.0``) straight into
   ``fit``, default ``compile``; (b) the same code on JAX, which is what the backend-agnostic
   lessons run (their default backend, their own plain ``compile``); (c) the same code plus
   ``steps_per_execution=32`` on JAX, a lever the lessons do not use (it did not win in every
   run); (d) the same lever on TensorFlow. Reported:
   steady-state seconds per epoch (mean of epochs 2..N of a run, validation included; epoch 1,
   which compiles, is shown apart), training samples/s, speed-up vs (a), final val accuracy.
2. The matmul roofline at the lessons' shapes, per backend: one training step's matmuls alone at
   batch 32 -- the 4 dense layers' forward ``x @ W``, and in backward every ``dW = x.T @ dY`` and
   every ``dX = dY @ W.T`` except the first layer's (no training step computes the gradient of
   the input images), 11 matmuls, 2.09x the forward FLOPs -- timed as one compiled loop of an
   epoch's worth of steps (``jax.jit`` of a ``fori_loop`` of ``jnp.dot``; ``tf.function`` of a
   ``tf.while_loop`` of ``tf.matmul``), plus the validation pass's 4 forward matmuls per batch.
   Each step's weight gradients are fed in as the next step's weights, so no matmul is dead code,
   nothing is loop-invariant and no elementwise op is added; the operands are zeros, so values
   neither overflow nor turn denormal (dense matmul kernels take the same time whatever the
   values: when this benchmark was written, zero, NaN and normalised random operands timed
   alike on JAX, zero and NaN on TensorFlow). The validation loop carries its input, rewritten
   in one element by each step's output (about 6 us a step on TensorFlow, measured alone).
   Roofline s/epoch = train steps x matmul time per step + validation steps x forward matmul
   time per step (a partial last batch counts pro rata). Reported per configuration: fit s/epoch
   / roofline s/epoch (the issue's goal: the lessons' fit within 1.5x of the roofline on the
   default backend), the fraction of the roofline reached, and the same for the training part
   of the epoch alone (fit's validation pass timed apart); plus a large square matmul per
   backend for the machine's peak.
3. A custom training loop on TensorFlow (lesson 05): eager vs ``tf.function`` vs ``fit()``, per step.
4. Wall time and peak RSS per notebook (and backend, where recorded) from the last ``make run``
   (``build/run_results.json``).

Dropped from the previous benchmark: the single-lever rows (float32 inputs, ``tf.data``, a large
validation batch) and the TensorFlow thread-settings section (5 settings x 3 repeats of child
processes, about 3 minutes); ``benchmarks/training.py`` keeps the input-pipeline helpers.

Prints the tables; writes benchmarks/results/latest.json and latest.md (``--smoke``: build/bench-smoke/).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
BATCH = 32
SPE = 32  # the steps_per_execution lever measured in (c) and (d)
LAYERS = ((784, 256), (256, 64), (64, 32), (32, 10))  # mnist_mlp's dense layers (in, out)

# (key, configuration, backend, steps_per_execution), in the order they alternate.
CONFIGS = (
    ("a", "plain code", "tensorflow", 1),
    ("b", "plain code = the lessons' configuration", "jax", 1),
    ("c", "plain code + steps_per_execution", "jax", SPE),
    ("d", "plain code + steps_per_execution", "tensorflow", SPE),
)
DEFAULT_BACKEND = "jax"
ROOFLINE_BACKENDS = ("tensorflow", "jax")

FULL = {"train": 50_000, "val": 10_000, "epochs": 4, "repeats": 3, "roof_repeats": 5, "gemm": 2048, "loop_steps": 200}
# smoke: sizes with a partial last batch, like 50,000 / 32 and 10,000 / 32
SMOKE = {"train": 2_000, "val": 500, "epochs": 2, "repeats": 1, "roof_repeats": 2, "gemm": 256, "loop_steps": 10}


def matmul_flops_per_sample() -> dict:
    """Matmul FLOPs per sample: forward x@W for every layer; backward dW for every layer and
    dX for every layer but the first (the images need no gradient)."""
    forward = sum(2 * n_in * n_out for n_in, n_out in LAYERS)
    d_w = forward
    d_x = sum(2 * n_in * n_out for n_in, n_out in LAYERS[1:])
    return {"forward": forward, "train_step": forward + d_w + d_x}


# ============================================================================ children
# Everything below up to "parent" runs in a child process, with KERAS_BACKEND already set.


def _mnist(n_train: int, n_val: int):
    from keraslab import data

    (x_full, y_full), _ = data.load_mnist()
    # lesson 02's split: the first 50,000 training images, the last 10,000 as validation
    return (x_full[:n_train], y_full[:n_train]), (x_full[50_000 : 50_000 + n_val], y_full[50_000 : 50_000 + n_val])


def child_fit(args) -> dict:
    """One training run of a configuration; per-epoch wall times, validation timed apart."""
    import keras

    from keraslab import models

    assert keras.backend.backend() == args.backend, (keras.backend.backend(), args.backend)
    (x, y), (xv, yv) = _mnist(args.train, args.val)
    x, xv = x / 255.0, xv / 255.0  # float64, as the course material writes it

    class EpochTimer(keras.callbacks.Callback):
        """Wall time per epoch and of its validation pass (no batch hooks: fit stays asynchronous)."""

        def __init__(self):
            super().__init__()
            self.epochs, self.validation = [], []

        def on_epoch_begin(self, epoch, logs=None):
            self.validation.append(0.0)
            self.start = time.perf_counter()

        def on_test_begin(self, logs=None):
            self.test_start = time.perf_counter()

        def on_test_end(self, logs=None):
            self.validation[-1] += time.perf_counter() - self.test_start

        def on_epoch_end(self, epoch, logs=None):
            self.epochs.append(time.perf_counter() - self.start)

    keras.utils.set_random_seed(42)
    model = models.mnist_mlp()
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=args.spe,  # 1 is compile's default: the plain code
    )
    timer = EpochTimer()
    start = time.perf_counter()
    history = model.fit(
        x, y, validation_data=(xv, yv), epochs=args.epochs, batch_size=BATCH, verbose=0, callbacks=[timer]
    )
    return {
        "backend": keras.backend.backend(),
        "steps_per_execution": model.steps_per_execution,
        "jit_compile": bool(model.jit_compile),
        "fit_seconds": time.perf_counter() - start,
        "epoch_seconds": timer.epochs,
        "validation_seconds": timer.validation,
        "val_accuracy": float(history.history["val_accuracy"][-1]),
    }


def _roofline_jax(n_train_steps: int, n_val_steps: int, repeats: int, gemm: int) -> dict:
    import jax
    import jax.numpy as jnp
    import numpy as np

    def train_step(x, weights):
        w1, w2, w3, w4 = weights
        h1 = jnp.dot(x, w1)
        h2 = jnp.dot(h1, w2)
        h3 = jnp.dot(h2, w3)
        h4 = jnp.dot(h3, w4)
        g4 = h4  # stands in for dLoss/dlogits: same shape, no elementwise op
        d_w4, g3 = jnp.dot(h3.T, g4), jnp.dot(g4, w4.T)
        d_w3, g2 = jnp.dot(h2.T, g3), jnp.dot(g3, w3.T)
        d_w2, g1 = jnp.dot(h1.T, g2), jnp.dot(g2, w2.T)
        d_w1 = jnp.dot(x.T, g1)  # and no dX for the first layer
        return d_w1, d_w2, d_w3, d_w4  # become the next step's weights

    def forward_step(x, weights):
        h = x
        for w in weights:
            h = jnp.dot(h, w)
        return x.at[0, 0].set(h[0, 0])  # in-place one-element write: the next step depends on this one

    @jax.jit
    def train_loop(x, weights, n):
        return jax.lax.fori_loop(0, n, lambda i, w: train_step(x, w), weights)

    @jax.jit
    def forward_loop(x, weights, n):
        return jax.lax.fori_loop(0, n, lambda i, x_: forward_step(x_, weights), x)

    x = jnp.zeros((BATCH, LAYERS[0][0]), jnp.float32)
    weights = tuple(jnp.zeros(shape, jnp.float32) for shape in LAYERS)

    def time_train():
        start = time.perf_counter()
        jax.block_until_ready(train_loop(x, weights, n_train_steps))
        return time.perf_counter() - start

    def time_forward():
        start = time.perf_counter()
        jax.block_until_ready(forward_loop(x, weights, n_val_steps))
        return time.perf_counter() - start

    rng = np.random.default_rng(0)
    a = jnp.asarray(rng.standard_normal((gemm, gemm), dtype=np.float32))
    b = jnp.asarray(rng.standard_normal((gemm, gemm), dtype=np.float32))
    dot = jax.jit(jnp.dot)

    def time_gemm():
        start = time.perf_counter()
        jax.block_until_ready(dot(a, b))
        return time.perf_counter() - start

    return _time_roofline(time_train, time_forward, time_gemm, n_train_steps, n_val_steps, repeats, gemm)


def _roofline_tf(n_train_steps: int, n_val_steps: int, repeats: int, gemm: int) -> dict:
    import tensorflow as tf

    mm = tf.linalg.matmul

    def train_step(x, w1, w2, w3, w4):
        h1 = mm(x, w1)
        h2 = mm(h1, w2)
        h3 = mm(h2, w3)
        h4 = mm(h3, w4)
        g4 = h4
        d_w4, g3 = mm(h3, g4, transpose_a=True), mm(g4, w4, transpose_b=True)
        d_w3, g2 = mm(h2, g3, transpose_a=True), mm(g3, w3, transpose_b=True)
        d_w2, g1 = mm(h1, g2, transpose_a=True), mm(g2, w2, transpose_b=True)
        d_w1 = mm(x, g1, transpose_a=True)
        return d_w1, d_w2, d_w3, d_w4

    @tf.function
    def train_loop(x, weights, n):
        _, *out = tf.while_loop(lambda i, *w: i < n, lambda i, *w: (i + 1, *train_step(x, *w)), (0, *weights))
        return out

    @tf.function
    def forward_loop(x, weights, n):
        def body(i, x_):
            h = x_
            for w in weights:
                h = mm(h, w)
            return i + 1, tf.tensor_scatter_nd_update(x_, [[0, 0]], [h[0, 0]])

        return tf.while_loop(lambda i, x_: i < n, body, (0, x))[1]

    x = tf.zeros((BATCH, LAYERS[0][0]))
    weights = tuple(tf.zeros(shape) for shape in LAYERS)
    n_train, n_val = tf.constant(n_train_steps), tf.constant(n_val_steps)

    def time_train():
        start = time.perf_counter()
        [w.numpy() for w in train_loop(x, weights, n_train)]
        return time.perf_counter() - start

    def time_forward():
        start = time.perf_counter()
        forward_loop(x, weights, n_val).numpy()
        return time.perf_counter() - start

    a = tf.random.normal((gemm, gemm), seed=0)
    b = tf.random.normal((gemm, gemm), seed=1)
    dot = tf.function(mm)

    def time_gemm():
        start = time.perf_counter()
        dot(a, b).numpy()
        return time.perf_counter() - start

    return _time_roofline(time_train, time_forward, time_gemm, n_train_steps, n_val_steps, repeats, gemm)


def _time_roofline(time_train, time_forward, time_gemm, n_train_steps, n_val_steps, repeats, gemm) -> dict:
    time_train(), time_forward(), time_gemm()  # compile / trace
    train, forward, peak = [], [], []
    for _ in range(repeats):
        train.append(time_train())
        forward.append(time_forward())
        peak.append(time_gemm())
    return {
        "train_step_seconds": statistics.median(train) / n_train_steps,
        "forward_step_seconds": statistics.median(forward) / n_val_steps,
        "gemm_n": gemm,
        "gemm_gflops": 2 * gemm**3 / statistics.median(peak) / 1e9,
    }


def child_roofline(args) -> dict:
    n_train_steps, n_val_steps = math.ceil(args.train / BATCH), math.ceil(args.val / BATCH)
    timed = _roofline_jax if args.backend == "jax" else _roofline_tf
    result = timed(n_train_steps, n_val_steps, args.roof_repeats, args.gemm)
    return {"backend": args.backend, **result}


def child_loop(args) -> dict:
    """Lesson 05's loop on TensorFlow: eager vs tf.function vs fit(), ms per step (alternating)."""
    import keras
    import tensorflow as tf
    from training import to_float32

    from keraslab import models

    (x, y), _ = _mnist(args.train, 10)
    x = to_float32(x.reshape(-1, 784))
    steps = args.loop_steps
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH).repeat().prefetch(tf.data.AUTOTUNE)

    def make():
        keras.utils.set_random_seed(42)
        model = models.get_mnist_model()
        return model, keras.optimizers.RMSprop(), keras.losses.SparseCategoricalCrossentropy()

    def loop(compiled: bool):
        model, optimizer, loss_fn = make()

        def train_step(inputs, targets):
            with tf.GradientTape() as tape:
                loss = loss_fn(targets, model(inputs, training=True))
            gradients = tape.gradient(loss, model.trainable_weights)
            optimizer.apply_gradients(zip(gradients, model.trainable_weights, strict=True))
            return loss

        step = tf.function(train_step) if compiled else train_step
        it = iter(ds)
        for _ in range(5):  # warm-up (tracing)
            step(*next(it))
        start = time.perf_counter()
        for _ in range(steps):
            loss = step(*next(it))
        float(loss)
        return (time.perf_counter() - start) / steps

    def fit_step():
        model, optimizer, loss_fn = make()
        model.compile(optimizer=optimizer, loss=loss_fn)
        model.fit(ds, steps_per_epoch=5, epochs=1, verbose=0)  # warm-up
        start = time.perf_counter()
        model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
        return (time.perf_counter() - start) / steps

    res = {"eager": [], "tf.function": [], "fit()": []}
    for _ in range(args.repeats):
        res["eager"].append(loop(False))
        res["tf.function"].append(loop(True))
        res["fit()"].append(fit_step())
    med = {k: statistics.median(v) for k, v in res.items()}
    return {
        "ms_per_step": {k: v * 1000 for k, v in med.items()},
        "eager_to_tf_function_speedup": med["eager"] / med["tf.function"],
        "tf_function_vs_fit": med["tf.function"] / med["fit()"],
        "steps": steps,
        "runs": args.repeats,
    }


CHILDREN = {"fit": child_fit, "roofline": child_roofline, "loop": child_loop}


# ============================================================================ parent
def run_child(kind: str, backend: str, args, **extra) -> dict:
    with tempfile.TemporaryDirectory(prefix="keraslab-bench-") as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--backend", backend]
        command += ["--out", str(out)] + [f"--{k.replace('_', '-')}={v}" for k, v in extra.items()]
        for key in ("train", "val", "epochs", "repeats", "roof_repeats", "gemm", "loop_steps"):
            command.append(f"--{key.replace('_', '-')}={getattr(args, key)}")
        env = dict(os.environ, KERAS_BACKEND=backend)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        start = time.perf_counter()
        proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=args.child_timeout)
        wall = time.perf_counter() - start
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(
                f"child {kind} on {backend} {extra} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
            )
        return json.loads(out.read_text()) | {"process_seconds": wall}


def fit_rows(runs: dict, args) -> list[dict]:
    rows = []
    for key, config, backend, spe in CONFIGS:
        results = runs[key]
        steady = [statistics.mean(r["epoch_seconds"][1:]) for r in results]
        steady_val = [statistics.mean(r["validation_seconds"][1:]) for r in results]
        rows.append(
            {
                "key": key,
                "configuration": config,
                "backend": backend,
                "steps_per_execution": spe,
                "jit_compile": results[0]["jit_compile"],
                "s_per_epoch": statistics.median(steady),
                "train_s_per_epoch": statistics.median(s - v for s, v in zip(steady, steady_val, strict=True)),
                "validation_s_per_epoch": statistics.median(steady_val),
                "first_epoch_s": statistics.median(r["epoch_seconds"][0] for r in results),
                "val_accuracy": statistics.median(r["val_accuracy"] for r in results),
                "runs": len(results),
                "s_per_epoch_each_run": steady,
            }
        )
    base = rows[0]["s_per_epoch"]
    for row in rows:
        row["samples_per_s"] = args.train / row["s_per_epoch"]
        row["speedup_vs_a"] = base / row["s_per_epoch"]
    return rows


def roofline_rows(roof_runs: dict, fits: list[dict], args) -> dict:
    flops = matmul_flops_per_sample()
    train_steps, val_steps = args.train / BATCH, args.val / BATCH  # the last partial batch counts pro rata
    backends = {}
    for backend, results in roof_runs.items():
        step = statistics.median(r["train_step_seconds"] for r in results)
        fwd = statistics.median(r["forward_step_seconds"] for r in results)
        backends[backend] = {
            "backend": backend,
            "train_step_us": step * 1e6,
            "forward_step_us": fwd * 1e6,
            "train_s_per_epoch": step * train_steps,
            "validation_s_per_epoch": fwd * val_steps,
            "s_per_epoch": step * train_steps + fwd * val_steps,
            "matmul_gflops": flops["train_step"] * BATCH / step / 1e9,
            "gemm_n": results[0]["gemm_n"],
            "gemm_gflops": statistics.median(r["gemm_gflops"] for r in results),
            "runs": len(results),
        }
        backends[backend]["batch32_fraction_of_gemm"] = (
            backends[backend]["matmul_gflops"] / backends[backend]["gemm_gflops"]
        )
    configs = []
    for row in fits:
        roof = backends[row["backend"]]
        configs.append(
            {
                "key": row["key"],
                "configuration": row["configuration"],
                "backend": row["backend"],
                "fit_s_per_epoch": row["s_per_epoch"],
                "roofline_s_per_epoch": roof["s_per_epoch"],
                "fit_over_roofline": row["s_per_epoch"] / roof["s_per_epoch"],
                "fraction_of_roofline": roof["s_per_epoch"] / row["s_per_epoch"],
                "train_fit_over_roofline": row["train_s_per_epoch"] / roof["train_s_per_epoch"],
                "fit_matmul_gflops": flops["train_step"] * args.train / row["train_s_per_epoch"] / 1e9,
            }
        )
    lessons = next(c for c in configs if c["key"] == "b")  # what the lessons run on their default backend
    return {
        "flops_per_sample": flops,
        "forward_flops_ratio": flops["train_step"] / flops["forward"],
        "backends": list(backends.values()),
        "configurations": configs,
        "goal": {
            "target_fit_over_roofline": 1.5,
            "backend": DEFAULT_BACKEND,
            "fit_over_roofline": lessons["fit_over_roofline"],
            "met": lessons["fit_over_roofline"] <= 1.5,
        },
    }


def section_notebooks() -> dict:
    from keraslab import paths

    path = paths.build_dir() / "run_results.json"
    if not path.exists():
        return {"note": "no build/run_results.json: run `make run` first"}
    return json.loads(path.read_text())


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in ("keras", "tensorflow", "jax", "jaxlib", "numpy"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    speed_env = (
        "TF_ENABLE_ONEDNN_OPTS",
        "XLA_FLAGS",
        "OMP_NUM_THREADS",
        "TF_NUM_INTRAOP_THREADS",
        "TF_NUM_INTEROP_THREADS",
        "TF_CPP_MIN_LOG_LEVEL",
    )
    return {
        "environment": {k: os.environ[k] for k in speed_env if k in os.environ},
        "cpu": cpu,
        "arch": platform.machine(),
        "cores": os.cpu_count(),
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "versions": versions,
    }


# ----------------------------------------------------------------------------- report
def markdown(report) -> str:
    m, s = report["machine"], report["settings"]
    v = m["versions"]
    lines = [
        f"# Benchmark ({report['mode']}): fit on TensorFlow and JAX vs the matmul roofline",
        "",
        f"{report['date']} | {m['cpu']}, {m['cores']} cores, {m['os']} | Python {m['python']}, "
        f"Keras {v['keras']}, TensorFlow {v['tensorflow']}, JAX {v['jax']} (jaxlib {v['jaxlib']}), "
        f"NumPy {v['numpy']} | load average {report['load_average'][0]:.2f} at start, "
        f"{report['load_average'][1]:.2f} at end | {report['seconds']:.0f} s",
        "",
        "Environment: " + (", ".join(f"`{k}={val}`" for k, val in m["environment"].items()) or "no speed settings"),
        "",
        f"MNIST {s['train']:,} train + {s['val']:,} validation, batch {BATCH}, {s['epochs']} epochs per run "
        f"(epoch 1 compiles; s/epoch is the mean of epoch{'s 2-' if s['epochs'] > 2 else ' '}{s['epochs']}, "
        "validation included), "
        f"{s['repeats']} alternating repeats per configuration, medians. One process per run.",
        "",
        "## 1. fit: the course material's plain code on TensorFlow and on JAX (the lessons), and one lever",
        "",
        "| | configuration | backend | steps_per_execution | s/epoch | first epoch | samples/s "
        "| speed-up vs (a) | val accuracy |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["fit"]:
        lines.append(
            f"| ({r['key']}) | {r['configuration']} | {r['backend']} | {r['steps_per_execution']} | "
            f"{r['s_per_epoch']:.2f} | {r['first_epoch_s']:.2f} s | {r['samples_per_s']:,.0f} | "
            f"{r['speedup_vs_a']:.2f}x | {r['val_accuracy']:.4f} |"
        )
    roof = report["roofline"]
    f = roof["flops_per_sample"]
    lines += [
        "",
        "## 2. Matmul roofline at the lessons' shapes (batch 32)",
        "",
        f"One training step's matmuls alone: 4 forward x@W, 4 dW, 3 dX (none for the input images): "
        f"{f['train_step'] * BATCH / 1e6:.1f} MFLOP per step, {roof['forward_flops_ratio']:.2f}x the forward "
        f"{f['forward'] * BATCH / 1e6:.1f} MFLOP; validation: the 4 forward matmuls per batch. Timed as one "
        "compiled loop per backend (jax.jit fori_loop of jnp.dot; tf.function while_loop of tf.matmul).",
        "",
        "| backend | matmul µs/train step | µs/validation step | roofline s/epoch | batch-32 matmul GFLOP/s "
        "| square matmul GFLOP/s | batch 32 / square |",
        "|---|---|---|---|---|---|---|",
    ]
    for b in roof["backends"]:
        lines.append(
            f"| {b['backend']} | {b['train_step_us']:.0f} | {b['forward_step_us']:.0f} | {b['s_per_epoch']:.3f} | "
            f"{b['matmul_gflops']:.1f} | {b['gemm_gflops']:.0f} ({b['gemm_n']}²) | "
            f"{b['batch32_fraction_of_gemm']:.0%} |"
        )
    lines += [
        "",
        "| | configuration | backend | fit s/epoch | roofline s/epoch | fit ÷ roofline | fraction of roofline "
        "| training part: fit ÷ roofline | fit matmul GFLOP/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in roof["configurations"]:
        lines.append(
            f"| ({c['key']}) | {c['configuration']} | {c['backend']} | {c['fit_s_per_epoch']:.2f} | "
            f"{c['roofline_s_per_epoch']:.3f} | {c['fit_over_roofline']:.1f}x | {c['fraction_of_roofline']:.1%} | "
            f"{c['train_fit_over_roofline']:.1f}x | {c['fit_matmul_gflops']:.1f} |"
        )
    g = roof["goal"]
    lines += [
        "",
        f"Goal (issue #15): the lessons' fit on {g['backend']} within {g['target_fit_over_roofline']}x of the "
        f"roofline: {'met' if g['met'] else 'not met'} ({g['fit_over_roofline']:.1f}x).",
    ]
    c = report["custom_loop"]
    lines += ["", "## 3. Custom training loop per step (TensorFlow, lesson 05)", "", "| loop | ms/step |", "|---|---|"]
    lines += [f"| {k} | {val:.2f} |" for k, val in c["ms_per_step"].items()]
    lines += [
        "",
        f"eager → tf.function speed-up: {c['eager_to_tf_function_speedup']:.1f}x; "
        f"tf.function / fit() time per step: {c['tf_function_vs_fit']:.2f} ({c['steps']} steps, {c['runs']} runs)",
    ]
    nb = report["notebooks"]
    lines += ["", "## 4. Notebooks (last `make run`)", ""]
    if "results" in nb:
        with_backend = any(r.get("backend") for r in nb["results"])
        head = "| notebook | " + ("backend | " if with_backend else "") + "wall time | peak RSS | status |"
        lines += [head, "|" + "---|" * (head.count("|") - 1)]
        for r in nb["results"]:
            rss = f"{r['peak_rss_mb']:.0f} MB" if r.get("peak_rss_mb") else "n/a"
            backend = f"{r.get('backend') or 'n/a'} | " if with_backend else ""
            lines.append(f"| {r['notebook']} | {backend}{r['seconds']:.0f} s | {rss} | {r['status']} |")
    else:
        lines.append(nb.get("note", ""))
    return "\n".join(lines) + "\n"


def progress(what: str, result: dict) -> None:
    print(f"{what}: {result['process_seconds']:.1f} s (process)", flush=True)


def run_all(args) -> dict:
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    runs = {key: [] for key, *_ in CONFIGS}
    roof_runs = {backend: [] for backend in ROOFLINE_BACKENDS}
    for repeat in range(args.repeats):  # alternate, so drift hits every configuration alike
        for key, config, backend, spe in CONFIGS:
            runs[key].append(run_child("fit", backend, args, spe=spe))
            progress(f"repeat {repeat + 1}/{args.repeats}: ({key}) {config}, {backend}", runs[key][-1])
        for backend in ROOFLINE_BACKENDS:
            roof_runs[backend].append(run_child("roofline", backend, args))
            progress(f"repeat {repeat + 1}/{args.repeats}: matmul roofline, {backend}", roof_runs[backend][-1])
    loop = run_child("loop", "tensorflow", args)
    progress("custom loop, tensorflow", loop)
    fits = fit_rows(runs, args)
    return {
        "mode": "smoke" if args.smoke else "full",
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "settings": {k: getattr(args, k) for k in ("train", "val", "epochs", "repeats", "roof_repeats", "gemm")}
        | {"batch_size": BATCH, "loop_steps": args.loop_steps},
        "fit": fits,
        "roofline": roofline_rows(roof_runs, fits, args),
        "custom_loop": loop,
        "notebooks": section_notebooks(),
        "load_average": [load_start, os.getloadavg()[0]],
        "seconds": time.perf_counter() - started,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, under a minute (tests)")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--spe", type=int, default=1, help=argparse.SUPPRESS)
    for key in FULL:
        parser.add_argument(f"--{key.replace('_', '-')}", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL
    for key, value in sizes.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.child:
        sys.path.insert(0, str(HERE))  # benchmarks/training.py
        result = CHILDREN[args.child](args)
        Path(args.out).write_text(json.dumps(result))
        return 0
    args.child_timeout = 300 if args.smoke else 900
    report = run_all(args)
    text = markdown(report)
    print(text)
    from keraslab import paths

    out = paths.build_dir() / "bench-smoke" if args.smoke else RESULTS
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(report, indent=2))
    (out / "latest.md").write_text(text)
    print(f"wrote {paths.relative(out / 'latest.json')} and latest.md in {report['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
