"""keraslab: the shared code of the keraslab course notebooks.

Modules (one concept each):

- :mod:`keraslab.lesson`: the first call of every lesson (backend, quiet logs, seeds, version checks).
- :mod:`keraslab.pitfalls`: show the course material's expected error and let Run All go on.
- :mod:`keraslab.exercises`: the checkers of each lesson's exercises (확인 문제).
- :mod:`keraslab.paths`: where logs, checkpoints, figures and builds go; fresh run folders.
- :mod:`keraslab.data`: iris, MNIST and Fashion-MNIST loaders (offline IDX files first).
- :mod:`keraslab.models`: builders for every model the lessons use.
- :mod:`keraslab.callbacks`: what Keras lacks: atomic checkpoints in a run's folder.
- :mod:`keraslab.logreaders`: every log reader (CSV, TensorBoard scalars and tags, HParams).
- :mod:`keraslab.hparams`: writing TensorBoard's HParams records.
- :mod:`keraslab.plots`: training curves and learning-rate plots.
- :mod:`keraslab.saving`: atomic saves; safe loading with clear errors for bad files.
- :mod:`keraslab.integrity`: SHA-256 digests sealed inside the files keraslab writes.
- :mod:`keraslab.screening`: checks before Keras reads a file (sizes, hostile configs, missing classes).
- :mod:`keraslab.resume`: training that resumes after a kill (BackupAndRestore, done safely).
- :mod:`keraslab.resume_demo`: the program lesson 06 and the tests kill and resume.
- :mod:`keraslab.distribute`: what lesson 07 calls: strategies, batch sizing, the distributed step.
- :mod:`keraslab.cluster`: ``TF_CONFIG``: who this process is in a multi-worker cluster.
- :mod:`keraslab.worker`: one worker of a multi-worker job (lesson 07's loop, checkpoints).
- :mod:`keraslab.jobs`: a multi-worker job on this machine, one worker maybe killed; its CLI.
- :mod:`keraslab.processes`: run child processes, read their JSON results, kill one at a marker.
- :mod:`keraslab.results`: what a child reports (one JSON file); ``headline()``.
- :mod:`keraslab.runner`: runs the notebooks headless (``make run``).

Submodules are imported explicitly (``from keraslab import data``) so that
``import keraslab`` stays cheap and does not import TensorFlow.
"""

__version__ = "0.1.0"
