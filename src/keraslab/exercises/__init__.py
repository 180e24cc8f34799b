"""Check the learner's answers to the exercises (확인 문제) at the end of each lesson.

The framework (feedback, the registry, :func:`check`) is in :mod:`keraslab.exercises._core`;
each lesson's checkers are in their own module, ``keraslab.exercises.lessonNN``. Every checker
prints ``✅ Correct: ...``, ``❌ Not yet: ... Hint: ...`` or ``⏳ Not solved yet: ...``, returns
True, False or None, and never raises. The solutions are in ``solutions/NN_*.py``.

Example::

    from keraslab import exercises
    exercises.check("01.1", 6)
"""

from keraslab.exercises._core import EXERCISES, Exercise, check, list_exercises
from keraslab.exercises.lesson01 import *  # noqa: F403
from keraslab.exercises.lesson02 import *  # noqa: F403
from keraslab.exercises.lesson03 import *  # noqa: F403
from keraslab.exercises.lesson04 import *  # noqa: F403
from keraslab.exercises.lesson05 import *  # noqa: F403
from keraslab.exercises.lesson06 import *  # noqa: F403
from keraslab.exercises.lesson07 import *  # noqa: F403
from keraslab.exercises.lesson08 import *  # noqa: F403

__all__ = ["EXERCISES", "Exercise", "check", "list_exercises"] + [
    name for name in dir() if name.startswith("check_")
]
