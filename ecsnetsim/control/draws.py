"""Placement's random tie-breaks: numpy's draws, without a numpy call per draw.

Placement breaks ties with ``rng.integers(n)`` on the placement stream, once for almost
every task placed; the call costs about 1.8 µs, most of it numpy's argument handling, a
few per cent of placing a task. :class:`TieBreaks` gives the same numbers from the same
stream: it takes the PCG64 generator's 64-bit words in blocks and applies the algorithm
numpy's ``Generator.integers`` applies to them (Lemire's bounded draw on 32-bit halves,
the upper half of a word kept for the next draw; on whole words above 2^32), about
0.5 µs a draw.

It takes over the generator: the words it has taken in advance are gone from the
stream, so nothing else may draw from it (the placement stream has no other user). It
checks itself against numpy on a copy of the generator when it is made, and draws
through numpy instead if the generator is not PCG64, is halfway through a word, or the
check disagrees (a numpy that draws differently).
"""

from __future__ import annotations

import numpy as np

__all__ = ["TieBreaks"]

_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF
_BLOCK = 1024  # words taken from the generator at a time

#: Bounds the self-check draws below: small ties, the sizes placement meets, the edges.
_CHECK = (2, 3, 7, 10, 100, 1000, 5000, 10_000, 65_537, 2**31 + 1, 2**32 - 1, 2**32,
          2**33 + 5, 2**62 + 3)


class TieBreaks:
    """``integers(n)``: a uniform whole number in ``[0, n)``, as ``rng.integers(n)``.

    Examples
    --------
    >>> a, b = np.random.default_rng(7), np.random.default_rng(7)
    >>> draws = TieBreaks(b)
    >>> [int(a.integers(n)) for n in (5, 5000, 2, 2**40)] == \\
    ...     [draws.integers(n) for n in (5, 5000, 2, 2**40)]
    True
    """

    def __init__(self, rng: np.random.Generator, check: bool = True) -> None:
        self.rng = rng
        self._words: list[int] = []  # taken from the generator, next last
        self._half: int | None = None  # the upper half of the last word, next to use
        self.exact = _reproducible(rng) if check else True

    def integers(self, n: int) -> int:
        if not self.exact:
            return int(self.rng.integers(n))
        top = n - 1
        if top == 0:
            return 0
        if top <= _MASK32:
            if top == _MASK32:
                return self._next32()
            m = self._next32() * n
            if m & _MASK32 < n:  # Lemire: redraw below the threshold
                threshold = (_MASK32 - top) % n
                while m & _MASK32 < threshold:
                    m = self._next32() * n
            return m >> 32
        if top == _MASK64:
            return self._next64()
        m = self._next64() * n
        if m & _MASK64 < n:
            threshold = (_MASK64 - top) % n
            while m & _MASK64 < threshold:
                m = self._next64() * n
        return m >> 64

    def _next64(self) -> int:
        words = self._words
        if not words:
            words.extend(reversed(self.rng.bit_generator.random_raw(_BLOCK).tolist()))
        return words.pop()

    def _next32(self) -> int:
        half = self._half
        if half is not None:
            self._half = None
            return half
        word = self._next64()
        self._half = word >> 32
        return word & _MASK32


def _reproducible(rng: np.random.Generator) -> bool:
    """Whether :class:`TieBreaks` can give ``rng``'s own draws: a PCG64 generator at a
    word boundary whose draws, tried on a copy, agree with numpy's."""
    bits = rng.bit_generator
    state = bits.state
    if not isinstance(bits, np.random.PCG64) or state.get("has_uint32"):
        return False
    theirs, ours = np.random.PCG64(), np.random.PCG64()
    theirs.state = ours.state = state  # type: ignore[assignment]
    reference = np.random.Generator(theirs)
    mine = TieBreaks(np.random.Generator(ours), check=False)
    return all(int(reference.integers(n)) == mine.integers(n) for n in _CHECK * 8)
