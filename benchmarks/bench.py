"""keraslab benchmark: measured side by side, alternating A/B repeats, medians.

    make bench                 # full run (about 7 minutes on 2 cores)
    python benchmarks/bench.py --smoke   # seconds; what CI runs so this can't rot

Sections:
1. the course material's plain training code vs keraslab's configuration, same model,
   data, epochs and batch size: s/epoch, samples/s, ratio, accuracy; plus each lever alone;
2. a custom training loop, eager vs tf.function, vs fit(), per step;
3. the machine's matmul throughput and the training FLOP/s reached;
4. wall time and peak RSS per notebook from the last `make run` (build/run_results.json);
5. TensorFlow's thread settings (intra-op and inter-op pool sizes), one process per setting,
   because the pools are fixed once TensorFlow has started: the plain code under each
   setting, then keraslab's configuration under the default and under the fastest one.
   (A fresh process pays TensorFlow's start-up inside its first epoch, so these
   seconds per epoch run higher than section 1's; compare rows within the section.)

Sections 1-3 run in this one process; section 5 starts a child process per run.
Prints tables, writes benchmarks/results/latest.json and benchmarks/results/latest.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from keraslab import data, models, paths  # noqa: E402
from keraslab.training import fast_compile_kwargs, to_dataset, to_float32  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def mnist(n_train: int, n_val: int):
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    return (x_train[:n_train], y_train[:n_train]), (x_test[:n_val], y_test[:n_val])


def compiled_mnist_mlp(**compile_kwargs) -> keras.Model:
    keras.utils.set_random_seed(42)
    model = models.mnist_mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], **compile_kwargs)
    return model


# ----------------------------------------------------------------------------- 1
def plain_fit(train, val, epochs, batch_size):
    """The course material's code: float64 NumPy arrays straight into fit, default settings."""
    (x, y), (xv, yv) = train, val
    x, xv = x / 255.0, xv / 255.0  # float64, as a learner writes it
    model = compiled_mnist_mlp()
    start = time.perf_counter()
    history = model.fit(x, y, validation_data=(xv, yv), epochs=epochs, batch_size=batch_size, verbose=0)
    return time.perf_counter() - start, history.history["val_accuracy"][-1]


# The configuration keraslab recommends: only the levers that won in every run on this
# machine (see benchmarks/results/latest.md). float32 inputs and tf.data have lost in some
# runs; a large validation batch lost.
KERASLAB_LEVERS = ("steps_per_execution",)


def keraslab_fit(train, val, epochs, batch_size, levers=KERASLAB_LEVERS):
    (x, y), (xv, yv) = train, val
    if "float32" in levers or "dataset" in levers:
        x, xv = to_float32(x), to_float32(xv)
    else:
        x, xv = x / 255.0, xv / 255.0
    compile_kwargs = fast_compile_kwargs() if "steps_per_execution" in levers else {}
    model = compiled_mnist_mlp(**compile_kwargs)
    start = time.perf_counter()
    if "dataset" in levers:
        ds = to_dataset(x, y, batch_size=batch_size, shuffle=True, seed=42)
        vds = to_dataset(xv, yv, batch_size=batch_size)
        history = model.fit(ds, validation_data=vds, epochs=epochs, verbose=0)
    else:
        # validation cost: score the validation set in big batches (training is unchanged;
        # evaluation has no gradients, so the batch size changes only its speed)
        extra = {"validation_batch_size": VALIDATION_BATCH} if "validation_batch" in levers else {}
        history = model.fit(x, y, validation_data=(xv, yv), epochs=epochs, batch_size=batch_size, verbose=0, **extra)
    return time.perf_counter() - start, history.history["val_accuracy"][-1]


VALIDATION_BATCH = 1024


def section_plain_vs_keraslab(args):
    train, val = mnist(args.train, args.val)
    variants = {
        "plain (course material)": lambda: plain_fit(train, val, args.epochs, 32),
        "keraslab configuration": lambda: keraslab_fit(train, val, args.epochs, 32),
        "all three levers": lambda: keraslab_fit(
            train, val, args.epochs, 32, levers=("float32", "dataset", "steps_per_execution")
        ),
        "lever: float32 inputs": lambda: keraslab_fit(train, val, args.epochs, 32, levers=("float32",)),
        "lever: tf.data cache+prefetch": lambda: keraslab_fit(train, val, args.epochs, 32, levers=("dataset",)),
        "lever: steps_per_execution": lambda: keraslab_fit(
            train, val, args.epochs, 32, levers=("steps_per_execution",)
        ),
        f"lever: validation batch {VALIDATION_BATCH}": lambda: keraslab_fit(
            train, val, args.epochs, 32, levers=("validation_batch",)
        ),
    }
    times = {k: [] for k in variants}
    accs = {k: [] for k in variants}
    for _ in range(args.repeats):  # alternate, so drift hits every variant alike
        for name, fn in variants.items():
            seconds, acc = fn()
            times[name].append(seconds)
            accs[name].append(acc)
    base = statistics.median(times["plain (course material)"])
    rows = []
    for name in variants:
        med = statistics.median(times[name])
        rows.append(
            {
                "variant": name,
                "s_per_epoch": med / args.epochs,
                "samples_per_s": args.train * args.epochs / med,
                "speedup_vs_plain": base / med,
                "val_accuracy": statistics.median(accs[name]),
                "runs": len(times[name]),
            }
        )
    return rows


# ----------------------------------------------------------------------------- 2
def section_custom_loop(args):
    (x, y), _ = mnist(args.train, 10)
    x = to_float32(x.reshape(-1, 784))
    steps = args.loop_steps
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(32).repeat().prefetch(tf.data.AUTOTUNE)

    def make():
        keras.utils.set_random_seed(42)
        model = models.get_mnist_model()
        return model, keras.optimizers.RMSprop(), keras.losses.SparseCategoricalCrossentropy()

    def loop(compiled: bool):
        model, optimizer, loss_fn = make()

        def train_step(inputs, targets):
            with tf.GradientTape() as tape:
                predictions = model(inputs, training=True)  # Forward pass
                loss = loss_fn(targets, predictions)
            gradients = tape.gradient(loss, model.trainable_weights)  # Compute gradients
            optimizer.apply_gradients(zip(gradients, model.trainable_weights, strict=True))  # Update weights
            return loss

        step = tf.function(train_step) if compiled else train_step
        it = iter(ds)
        for _ in range(5):  # warm-up (tracing)
            step(*next(it))
        start = time.perf_counter()
        for _ in range(steps):
            step(*next(it))
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
    }


# ----------------------------------------------------------------------------- 3
def section_flops(args, plain_vs):
    n = args.gemm
    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    tf.linalg.matmul(a, b)  # warm-up
    times = []
    for _ in range(max(3, args.repeats)):
        start = time.perf_counter()
        tf.linalg.matmul(a, b).numpy()
        times.append(time.perf_counter() - start)
    gemm_flops = 2 * n**3 / statistics.median(times)
    params = models.mnist_mlp().count_params()
    # Dense layers: forward 2 FLOPs per weight per sample, backward about twice that.
    train_flops_per_sample = 6 * params
    rows = []
    for row in plain_vs[:2]:
        achieved = row["samples_per_s"] * train_flops_per_sample
        rows.append({"variant": row["variant"], "gflops": achieved / 1e9, "fraction_of_gemm": achieved / gemm_flops})
    return {
        "gemm_n": n,
        "gemm_gflops": gemm_flops / 1e9,
        "train_flops_per_sample": train_flops_per_sample,
        "training": rows,
    }


# ----------------------------------------------------------------------------- 4
def section_notebooks():
    path = paths.build_dir() / "run_results.json"
    if not path.exists():
        return {"note": "no build/run_results.json: run `make run` first"}
    return json.loads(path.read_text())


# ----------------------------------------------------------------------------- 5
# (intra-op threads, inter-op threads); 0 means "TensorFlow chooses" (its default).
THREAD_SETTINGS = ((0, 0), (1, 1), (2, 1), (1, 2), (4, 4))


def thread_setting_name(intra: int, inter: int) -> str:
    if (intra, inter) == (0, 0):
        return "TensorFlow default"
    return f"intra {intra}, inter {inter}"


def thread_child(args) -> int:
    """Run in a fresh process: fix the thread pools, then time one training run.

    TensorFlow sizes its pools when its runtime starts (the first op), and refuses a
    change afterwards, so each setting needs a process of its own.
    """
    intra, inter = args.thread_child
    tf.config.threading.set_intra_op_parallelism_threads(intra)
    tf.config.threading.set_inter_op_parallelism_threads(inter)
    tf.config.experimental.enable_op_determinism()
    train, val = mnist(args.train, args.val)
    fit = plain_fit if args.code == "plain" else keraslab_fit
    seconds, acc = fit(train, val, args.epochs, 32)
    result = {
        "intra": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter": tf.config.threading.get_inter_op_parallelism_threads(),
        "seconds": seconds,
        "val_accuracy": acc,
    }
    print("THREAD_RESULT " + json.dumps(result))
    return 0


def run_thread_child(code: str, intra: int, inter: int, args) -> dict:
    command = [sys.executable, __file__, "--thread-child", str(intra), str(inter), "--code", code]
    command += ["--train", str(args.train), "--val", str(args.val), "--epochs", str(args.epochs)]
    out = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ), timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"thread-setting child {code} {intra}/{inter} failed:\n{out.stderr[-3000:]}")
    line = next(line for line in out.stdout.splitlines() if line.startswith("THREAD_RESULT "))
    result = json.loads(line.removeprefix("THREAD_RESULT "))
    if (intra, inter) != (0, 0) and (result["intra"], result["inter"]) != (intra, inter):
        raise RuntimeError(f"asked for {intra}/{inter} threads, TensorFlow reports {result}")
    return result


def time_thread_settings(code: str, settings, args) -> list[dict]:
    """Median seconds per epoch of ``code`` under each setting, in alternating processes."""
    runs = {setting: [] for setting in settings}
    for _ in range(args.repeats):  # alternate processes, so drift hits every setting alike
        for setting in settings:
            runs[setting].append(run_thread_child(code, *setting, args))
    base = statistics.median(r["seconds"] for r in runs[settings[0]])
    rows = []
    for (intra, inter), results in runs.items():
        med = statistics.median(r["seconds"] for r in results)
        rows.append(
            {
                "code": code,
                "setting": thread_setting_name(intra, inter),
                "intra": intra,
                "inter": inter,
                "s_per_epoch": med / args.epochs,
                "speedup_vs_default": base / med,
                "val_accuracy": statistics.median(r["val_accuracy"] for r in results),
                "runs": len(results),
            }
        )
    return rows


def section_threads(args):
    """The plain code under each thread setting; then keraslab's configuration under
    TensorFlow's default and under the setting that was fastest for the plain code."""
    settings = THREAD_SETTINGS[:2] if args.smoke else THREAD_SETTINGS
    plain = time_thread_settings("plain", settings, args)
    best = max(plain[1:], key=lambda row: row["speedup_vs_default"])
    keraslab = time_thread_settings("keraslab", (THREAD_SETTINGS[0], (best["intra"], best["inter"])), args)
    return plain + keraslab


# ----------------------------------------------------------------------------- out
def markdown(report) -> str:
    lines = [f"# Benchmark ({report['mode']}, {report['machine']})", ""]
    lines += ["## 1. Course material's plain code vs keraslab's configuration", ""]
    lines += ["| variant | s/epoch | samples/s | speed-up | val accuracy |", "|---|---|---|---|---|"]
    for r in report["plain_vs_keraslab"]:
        lines.append(
            f"| {r['variant']} | {r['s_per_epoch']:.2f} | {r['samples_per_s']:,.0f} | "
            f"{r['speedup_vs_plain']:.2f}x | {r['val_accuracy']:.4f} |"
        )
    c = report["custom_loop"]
    lines += ["", "## 2. Custom loop per step", "", "| loop | ms/step |", "|---|---|"]
    lines += [f"| {k} | {v:.2f} |" for k, v in c["ms_per_step"].items()]
    lines += [
        "",
        f"eager → tf.function speed-up: {c['eager_to_tf_function_speedup']:.1f}x; "
        f"tf.function / fit() time per step: {c['tf_function_vs_fit']:.2f}",
    ]
    f = report["flops"]
    lines += ["", "## 3. Throughput", "", f"matmul {f['gemm_n']}x{f['gemm_n']}: {f['gemm_gflops']:.0f} GFLOP/s", ""]
    lines += ["| variant | training GFLOP/s | fraction of matmul |", "|---|---|---|"]
    lines += [f"| {r['variant']} | {r['gflops']:.1f} | {r['fraction_of_gemm']:.1%} |" for r in f["training"]]
    nb = report["notebooks"]
    lines += ["", "## 4. Notebooks (last `make run`)", ""]
    if "results" in nb:
        lines += ["| notebook | wall time | peak RSS | status |", "|---|---|---|---|"]
        for r in nb["results"]:
            rss = f"{r['peak_rss_mb']:.0f} MB" if r.get("peak_rss_mb") else "n/a"
            lines.append(f"| {r['notebook']} | {r['seconds']:.0f} s | {rss} | {r['status']} |")
    else:
        lines.append(nb.get("note", ""))
    lines += ["", "## 5. Thread settings (one process per setting)", ""]
    lines += [
        "| code | threads | s/epoch | speed-up vs default | val accuracy |",
        "|---|---|---|---|---|",
    ]
    for r in report["threads"]:
        lines.append(
            f"| {r['code']} | {r['setting']} | {r['s_per_epoch']:.2f} | {r['speedup_vs_default']:.2f}x | "
            f"{r['val_accuracy']:.4f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds (CI)")
    parser.add_argument("--thread-child", nargs=2, type=int, metavar=("INTRA", "INTER"), help=argparse.SUPPRESS)
    parser.add_argument("--code", choices=("plain", "keraslab"), default="plain", help=argparse.SUPPRESS)
    parser.add_argument("--train", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--val", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.thread_child:
        return thread_child(args)
    if args.smoke:
        args.train, args.val, args.epochs, args.repeats, args.loop_steps, args.gemm = 640, 320, 1, 1, 10, 256
    else:
        args.train, args.val, args.epochs, args.repeats, args.loop_steps, args.gemm = 60000, 10000, 2, 3, 200, 2048
    tf.config.experimental.enable_op_determinism()
    started = time.perf_counter()
    plain_vs = section_plain_vs_keraslab(args)
    report = {
        "mode": "smoke" if args.smoke else "full",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, TF {tf.__version__}, Keras {keras.__version__}",
        "settings": {k: getattr(args, k) for k in ("train", "val", "epochs", "repeats", "loop_steps", "gemm")},
        "plain_vs_keraslab": plain_vs,
        "custom_loop": section_custom_loop(args),
    }
    report["flops"] = section_flops(args, plain_vs)
    report["notebooks"] = section_notebooks()
    report["threads"] = section_threads(args)
    report["seconds"] = time.perf_counter() - started
    text = markdown(report)
    print(text)
    out = RESULTS if not args.smoke else paths.build_dir() / "bench-smoke"
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(report, indent=2))
    (out / "latest.md").write_text(text)
    print(f"wrote {paths.relative(out / 'latest.json')} and latest.md in {report['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
