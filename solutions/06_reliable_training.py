"""Solutions to the exercises (확인 문제) of lesson 06, notebooks/06_reliable_training.ipynb.

Run ``python solutions/06_reliable_training.py`` to check them all.
"""

import os

from keraslab import resume

# 06.1: the backup holds epoch 6, so the rerun starts with epoch 7 (from its beginning).
resume_epoch = 7

# 06.2: TerminateOnNaN() only sets stop_training; the epoch's checkpoint still saves the NaN weights.
nan_in_checkpoint = True


# 06.3
def atomic_save(model, path):
    """Save `model` to `path` (.keras) so that a failed save never damages the previous file."""
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".{name}.tmp-{os.getpid()}.keras")  # same folder: os.replace is atomic
    try:
        model.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


# 06.4
def fit_resumably(model, x, y, run):
    """Train for 6 epochs; after an interruption, the same call continues with the first unfinished epoch."""
    model.fit(
        x,
        y,
        epochs=6,
        batch_size=32,
        validation_split=0.2,
        shuffle=False,
        verbose=0,
        callbacks=resume.resumable_callbacks(run),
    )


if __name__ == "__main__":
    from keraslab import exercises

    exercises.check_06_resume_epoch(resume_epoch)
    exercises.check_06_nan_checkpoint(nan_in_checkpoint)
    exercises.check_06_atomic_save(atomic_save)
    exercises.check_06_resumable_run(fit_resumably)
