"""One exception type for every problem a user can fix; the CLI prints its message as one line."""

from __future__ import annotations


class GanBenchError(Exception):
    """A problem with the user's input or environment, described in one line that names it."""


class RegistryError(GanBenchError):
    """A registry file is malformed or inconsistent."""


class DataNotFoundError(GanBenchError):
    """A dataset is neither on disk nor downloadable."""


class CheckpointError(GanBenchError):
    """A checkpoint is missing, corrupt, or belongs to another run."""


class ReproductionImportError(GanBenchError):
    """A reproduction module raised while being imported; the message points at its file and line.

    The original exception stays attached (`__cause__`) for `--debug`, which prints its traceback.
    """

    @classmethod
    def of(cls, module_name: str, exc: BaseException) -> "ReproductionImportError":
        import importlib.util
        import traceback

        spec = importlib.util.find_spec(module_name)
        module_file = spec.origin if spec is not None and spec.origin else None
        if isinstance(exc, SyntaxError) and exc.filename:
            place = f"{display_path(exc.filename)}:{exc.lineno}"
            return cls(f"{place}: SyntaxError: {exc.msg} (importing {module_name})")
        frames = traceback.extract_tb(exc.__traceback__)
        in_module = [f for f in frames if module_file and f.filename == module_file]
        where = in_module[-1] if in_module else (frames[-1] if frames else None)
        place = f"{display_path(where.filename)}:{where.lineno}" if where else module_name
        deepest = frames[-1] if frames else None
        inner = ""
        if deepest is not None and where is not None and deepest is not where:
            inner = f", raised in {display_path(deepest.filename)}:{deepest.lineno}"
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else "(no message)"
        return cls(f"{place}: {type(exc).__name__}: {message} (importing {module_name}{inner})")


def display_path(path) -> str:
    """A path relative to the working directory when it is inside it (as a user would type it)."""
    from pathlib import Path

    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
class Interrupted(GanBenchError):
    """A run stopped by a signal at a checkpoint; not bad input, so it exits 128 + the signal number."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code
