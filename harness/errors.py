"""One exception type for every problem a user can fix; the CLI prints its message as one line."""


class GanBenchError(Exception):
    """A problem with the user's input or environment, described in one line that names it."""


class RegistryError(GanBenchError):
    """A registry file is malformed or inconsistent."""


class DataNotFoundError(GanBenchError):
    """A dataset is neither on disk nor downloadable."""


class CheckpointError(GanBenchError):
    """A checkpoint is missing, corrupt, or belongs to another run."""


class Interrupted(GanBenchError):
    """A run stopped by a signal at a checkpoint; not bad input, so it exits 128 + the signal number."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code
