"""keraslab: the shared code of the keraslab course notebooks.

What several lessons share, and what is too long to write in a cell; the Keras code each lesson teaches is
written in that lesson's cells. Modules (one concept each):

- :mod:`keraslab.lesson`: the first call of every lesson (backend, quiet logs, seeds, version checks).
- :mod:`keraslab.pitfalls`: show the course material's expected error and let Run All go on.
- :mod:`keraslab.exercises`: the checkers of each lesson's exercises (확인 문제), one module per lesson.
- :mod:`keraslab.paths`: where logs, checkpoints, figures and builds go; fresh run folders.
- :mod:`keraslab.data`: iris, MNIST and Fashion-MNIST loaders (offline IDX files first).
- :mod:`keraslab.models`: the models lessons taught, for the later lessons that reuse them.
- :mod:`keraslab.logreaders`: log readers for the lessons' checks (CSV, TensorBoard scalars and tags, HParams).
- :mod:`keraslab.hparams`: writing TensorBoard's HParams records.
- :mod:`keraslab.plots`: training curves and learning-rate plots.
- :mod:`keraslab.saving`: digests sealed in checkpoints; damaged or hostile files refused in words.
- :mod:`keraslab.resume`: BackupAndRestore that survives a SIGKILL at any moment; atomic ModelCheckpoint.
- :mod:`keraslab.jobs`: lesson 07's multi-worker job on this machine, one worker maybe killed.
- :mod:`keraslab.processes`: run child processes, kill one at a marker.
- :mod:`keraslab.results`: what a child process reports to its parent (one JSON file).
- :mod:`keraslab.runner`: runs the notebooks headless (``make run``, ``make outputs``).

Submodules are imported explicitly (``from keraslab import data``) so that
``import keraslab`` stays cheap and does not import TensorFlow.
"""

__version__ = "0.1.0"
