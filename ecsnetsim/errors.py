"""Errors that the command line turns into one clear message and exit status 2."""

from __future__ import annotations


class InputError(Exception):
    """Invalid user input: a scenario, an override or a command-line value.

    ``file``, ``path`` (``services[0].containers[0].port_mappings[0].host_port``) and
    ``line`` say where; the message says what was expected.
    """

    def __init__(
        self, message: str, *, file: str | None = None, path: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.path = path
        self.line = line

    def __str__(self) -> str:
        where = self.file or ""
        if self.line is not None:
            where += f":{self.line}"
        parts = [p for p in (where, self.path) if p]
        prefix = ": ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


class ScenarioError(InputError):
    """A scenario file that cannot be loaded, validated or run as written."""


class Stopped(BaseException):
    """A stop signal (SIGTERM, SIGINT, SIGHUP) arrived: raised from the signal handler so
    that the run unwinds through every ``finally`` (worker processes terminated, staging
    directory removed) instead of dying where it stood. A ``BaseException``, like
    ``KeyboardInterrupt``, so that no ``except Exception`` swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
