"""Training worker for the kill-and-resume tests (run as a subprocess, then SIGKILLed).

    python tests/resume_worker.py [--slow-save] [--plain MODEL_PATH] -- <keraslab.resume_demo args>

--slow-save   make every .keras save pause half-way (before its weights member),
              printing "SAVING <path>" first, so a test can kill it mid-write.
--plain PATH  instead of keraslab's resumable training, train with Keras's own
              ModelCheckpoint(PATH, save_best_only=False) for 3 epochs.
"""

import sys
import time
import zipfile


def slow_saves():
    original = zipfile.ZipFile.writestr

    def writestr(self, name, data, *args, **kwargs):
        # Keras writes the weights member last, after metadata.json and config.json:
        # pause there, with the archive half on disk and no central directory yet.
        if str(name).endswith(".h5") and self.filename:
            self.fp.flush()
            print(f"SAVING {self.filename}", flush=True)
            time.sleep(3)
        return original(self, name, data, *args, **kwargs)

    zipfile.ZipFile.writestr = writestr


def plain(path):
    import keras

    from keraslab import resume_demo

    keras.utils.set_random_seed(0)
    x, y = resume_demo.demo_data(2000)
    model = resume_demo.demo_model()

    class Report(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            print(f"epoch {epoch + 1} done", flush=True)

    checkpoint = keras.callbacks.ModelCheckpoint(path, save_best_only=False)
    model.fit(x, y, epochs=3, verbose=0, callbacks=[Report(), checkpoint])


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--slow-save" in args:
        args.remove("--slow-save")
        slow_saves()
    if args and args[0] == "--plain":
        plain(args[1])
        sys.exit(0)
    if args and args[0] == "--":
        args = args[1:]
    from keraslab.resume_demo import main

    sys.exit(main(args))
