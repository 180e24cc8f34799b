"""keraslab: the shared code of the keraslab course notebooks.

Modules (one concept each):

- :mod:`keraslab.lesson`: the first call of every lesson (backend, quiet logs, seeds, version checks).
- :mod:`keraslab.pitfalls`: show the course material's expected error and let Run All go on.
- :mod:`keraslab.exercises`: the checkers of each lesson's exercises (확인 문제).
- :mod:`keraslab.paths`: where logs, checkpoints, figures and builds go; fresh run folders.
- :mod:`keraslab.data`: iris, MNIST and Fashion-MNIST loaders (offline IDX files first).
- :mod:`keraslab.models`: builders for every model the lessons use.
- :mod:`keraslab.callbacks`: Keras callbacks configured for the course's folders.
- :mod:`keraslab.plots`: training curves and learning-rate plots.
- :mod:`keraslab.saving`: atomic saves; safe loading with clear errors for bad files.
- :mod:`keraslab.integrity`: SHA-256 digests sealed inside the files keraslab writes.
- :mod:`keraslab.screening`: checks before Keras reads a file (sizes, hostile configs, missing classes).
- :mod:`keraslab.resume`: training that resumes after a kill (BackupAndRestore, done safely).
- :mod:`keraslab.distribute`: tf.distribute strategies; a multi-worker training loop with checkpoints.
- :mod:`keraslab.training`: faster input pipelines and compile settings (measured in benchmarks/).
- :mod:`keraslab.runner`: runs the notebooks headless (``make run``).

Submodules are imported explicitly (``from keraslab import data``) so that
``import keraslab`` stays cheap and does not import TensorFlow.
"""

__version__ = "0.1.0"
