"""Errors that the command line turns into one clear message and exit status 2.

Every such message is built here (:class:`InputError`), and so is the one rule that
keeps it readable: a value echoed back to the user is cut to :data:`MAX_SHOWN`
characters (:func:`clip`, :func:`show`), and, whatever a message was built from, no
line of it and no field path is longer than :data:`MAX_LINE`. A 100 KB name or a
5,000-item list in a scenario then costs one line of output, not ten kilobytes.
"""

from __future__ import annotations

from typing import Any

#: Most characters of a value echoed in a message.
MAX_SHOWN = 200
#: Most characters of one line of a message (or of a field path) before it is cut; long
#: enough for every list of expected keys the scenario format has.
MAX_LINE = 600


def clip(text: str, limit: int = MAX_SHOWN) -> str:
    """``text``, or its first ``limit`` characters and how long it was in all."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…({len(text):,} characters)"


def show(value: Any, limit: int = MAX_SHOWN) -> str:
    """A value as a message echoes it (``'abc'``, ``42``, ``[1, 2]``), cut to ``limit``."""
    if isinstance(value, list | tuple | set | frozenset | dict) and len(value) > 20:
        kind = "mapping" if isinstance(value, dict) else "list"
        return f"a {kind} of {len(value):,} items"
    try:
        text = repr(value)
    except ValueError:  # an int too long for str(): refused at the source, but be safe
        return "a number too long to print"
    return clip(text, limit)


def choices(names, most: int = 12) -> str:
    """A list of allowed names for "expected one of ...": all of a short list, the first
    ``most`` of a long one and how many more."""
    names = [show(n, 60) for n in names]
    if not names:
        return "[] (there are none)"
    if len(names) <= most:
        return clip("[" + ", ".join(names) + "]")
    return clip("[" + ", ".join(names[:most]) + f", ... and {len(names) - most:,} more]")


def _cut_lines(message: str) -> str:
    return "\n".join(clip(line, MAX_LINE) for line in message.split("\n"))


class InputError(Exception):
    """Invalid user input: a scenario, an override or a command-line value.

    ``file``, ``path`` (``services[0].containers[0].port_mappings[0].host_port``) and
    ``line`` say where; the message says what was expected. Long lines are cut here, so
    that no caller can print an unreadable message.
    """

    def __init__(
        self, message: str, *, file: str | None = None, path: str | None = None,
        line: int | None = None,
    ) -> None:
        message = _cut_lines(str(message))
        super().__init__(message)
        self.message = message
        self.file = file
        self.path = clip(path, MAX_SHOWN) if path else path
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
