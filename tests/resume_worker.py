"""Lesson 06's training script, run by the kill tests (as a subprocess, then SIGKILLed).

    python tests/resume_worker.py [--slow-save] [--plain MODEL_PATH] -- <resumable_training.py args>

--slow-save   make every .keras save pause half-way (before its weights member),
              printing "SAVING <path>" first, so a test can kill it mid-write.
--plain PATH  instead of the script, train with Keras's own ModelCheckpoint(PATH,
              save_best_only=False) for 3 epochs.
KERASLAB_PAUSE_AT=before-replace:NAME[@N] / after-replace:NAME[@N]: print "PAUSED ..." and wait
              (for the SIGKILL) just before / after the N-th os.replace onto a file called NAME.
KERASLAB_WAIT_FOR=PATH: after "epoch 1 done", wait until PATH exists (a test holds a trainer in its folder).
"""

import importlib.util
import os
import sys
import time
import zipfile
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "notebooks" / "scripts" / "resumable_training.py"


def load_script():
    spec = importlib.util.spec_from_file_location("resumable_training", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def slow_saves():
    original = zipfile.ZipFile.writestr

    def writestr(self, name, data, *args, **kwargs):
        # Keras writes the weights member last: pause there, with the archive half on disk.
        if str(name).endswith(".h5") and self.filename:
            self.fp.flush()
            print(f"SAVING {self.filename}", flush=True)
            time.sleep(3)
        return original(self, name, data, *args, **kwargs)

    zipfile.ZipFile.writestr = writestr


def pause_at(point):
    where, _, rest = point.partition(":")
    name, _, nth = rest.partition("@")
    original, hits = os.replace, [0]

    def pause():
        print(f"PAUSED {point}", flush=True)
        while True:
            time.sleep(3600)

    def replace(src, dst, *args, **kwargs):
        hit = Path(dst).name == name
        if hit:
            hits[0] += 1
        hit = hit and hits[0] == int(nth or 1)
        if hit and where == "before-replace":
            pause()
        original(src, dst, *args, **kwargs)
        if hit:
            pause()

    os.replace = replace


def plain(path):
    import keras

    script = load_script()
    keras.utils.set_random_seed(0)
    x, y = script.get_data(2000)
    model = script.get_model()

    class Report(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            print(f"epoch {epoch + 1} done", flush=True)

    model.fit(x, y, epochs=3, verbose=0, callbacks=[Report(), keras.callbacks.ModelCheckpoint(path)])


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--slow-save" in args:
        args.remove("--slow-save")
        slow_saves()
    if os.environ.get("KERASLAB_PAUSE_AT"):
        pause_at(os.environ["KERASLAB_PAUSE_AT"])
    if args and args[0] == "--plain":
        plain(args[1])
        sys.exit(0)
    if args and args[0] == "--":
        args = args[1:]
    script = load_script()
    if os.environ.get("KERASLAB_WAIT_FOR"):
        release, report = Path(os.environ["KERASLAB_WAIT_FOR"]), script.PrintProgress.on_epoch_end

        def on_epoch_end(self, epoch, logs=None):
            report(self, epoch, logs)
            while epoch == 0 and not release.exists():
                time.sleep(0.05)

        script.PrintProgress.on_epoch_end = on_epoch_end
    script.main(args)
