"""Telling a paper's own bug from bad input, where the harness calls a paper's code with the user's input.

A reproduction's constructor gets the user's hyperparameters and dataset, and its `load_extra_state`
gets a checkpoint that anyone may have edited. A ValueError or RuntimeError there (a resolution the
architecture cannot build, a tensor of the wrong shape), or a KeyError (a checkpoint without a field),
is the input's fault: one `error:` line, exit 2. Anything else raised inside the paper's module (a
TypeError, an AttributeError, a NameError) is a bug in that module: `PaperCodeError`, which the CLI
prints as one "internal error" line naming the paper's file and line (exit 1), with the traceback
under --debug. It is not a GanBenchError, so nothing treats it as the user's mistake.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from typing import Iterator

from harness.errors import GanBenchError, display_path

# What the user's input makes correct code raise. NotImplementedError is a RuntimeError, but it is a
# paper that is not finished, not bad input.
INPUT_ERRORS = (ValueError, RuntimeError, KeyError)


class PaperCodeError(Exception):
    """A paper's own code raised what only a bug raises; the message names the paper, file and line."""


def is_input_error(exc: BaseException, input_errors: tuple[type[Exception], ...] = INPUT_ERRORS) -> bool:
    return isinstance(exc, (GanBenchError, *input_errors)) and not isinstance(exc, NotImplementedError)


def raised_in(exc: BaseException, cls: type) -> traceback.FrameSummary | None:
    """The deepest frame of `exc`'s traceback in the paper's own code: the module defining `cls` or a
    paper class it builds on (toy-rgan on toy-gan), never the harness's base class; None if none."""
    files = {getattr(sys.modules.get(base.__module__), "__file__", None) for base in cls.__mro__
             if not base.__module__.startswith(("harness.", "builtins"))}
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in files - {None}]
    return frames[-1] if frames else None


@contextlib.contextmanager
def paper_code(paper: str, cls: type, what: str,
               input_errors: tuple[type[Exception], ...] = INPUT_ERRORS) -> Iterator[None]:
    """Run a paper's own code (`what`: "constructor", "load_extra_state"): an exception raised in its
    module that is not one of `input_errors` (nor a GanBenchError) becomes a `PaperCodeError`; the
    others, and errors raised outside the paper's code, pass unchanged for the caller to word."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - sorted below; everything not the paper's bug is re-raised
        place = raised_in(exc, cls)
        if is_input_error(exc, input_errors) or place is None:
            raise
        message = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else "(no message)"
        raise PaperCodeError(
            f"internal error: a bug in {paper}'s code, not in the input: {display_path(place.filename)}:"
            f"{place.lineno} ({place.name}, in its {what}): {type(exc).__name__}: {message}"
        ) from exc
