"""keraslab.pitfalls: an expected error is shown and swallowed; anything else fails loudly."""

import warnings

import pytest

from keraslab.pitfalls import PitfallFixedError, pitfall


def test_expected_error_is_shown_and_swallowed(capsys):
    with pitfall(ValueError, match="must end in `.keras`") as caught:
        raise ValueError("The filepath provided must end in `.keras` (Keras model format).")
    assert isinstance(caught.error, ValueError)
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "ValueError: The filepath provided" in err


def test_a_tuple_of_types_and_warnings_turned_into_errors():
    with pitfall((TypeError, UserWarning), match="deprecated") as caught:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            warnings.warn("`model.compiled_loss()` is deprecated", UserWarning, stacklevel=1)
    assert type(caught.error) is UserWarning


def test_code_that_no_longer_raises_fails_loudly():
    with pytest.raises(PitfallFixedError, match="no longer raises AttributeError"):
        with pitfall(AttributeError, match="lr"):
            pass


def test_another_message_fails_loudly():
    with pytest.raises(
        PitfallFixedError, match="no longer contains .no attribute 'lr'.; it says: 'SGD' object"
    ) as info:
        with pitfall(AttributeError, match="no attribute 'lr'"):
            raise AttributeError("'SGD' object has no attribute 'learning_rate_x'")
    assert isinstance(info.value.__cause__, AttributeError)


def test_another_type_propagates_unchanged():
    with pytest.raises(KeyError):
        with pitfall(ValueError):
            raise KeyError("not the pitfall")
