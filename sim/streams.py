"""Named random streams.

Every stochastic process in a replication draws from its own ``numpy`` generator, derived
from the root seed, the replication number and the *name* of the process (for example
``"threat/al_qaim/isis/arrivals"``). Because the name, not the order of creation, selects
the stream, two scenarios run with the same root seed share the draws of every process whose
definition did not change: common random numbers, which make paired comparisons sharp.
Nothing in the model touches the global ``random`` or ``np.random`` state.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator

import numpy as np


def name_key(name: str) -> tuple[int, ...]:
    """A stable tuple of 32-bit words for ``name`` (unlike ``hash``, equal across runs)."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


class Streams:
    """Hands out one generator per stream name for one replication."""

    def __init__(self, root_seed: int, replication: int) -> None:
        self.root_seed = root_seed
        self.replication = replication
        self._made: dict[str, np.random.Generator] = {}

    def __call__(self, name: str) -> np.random.Generator:
        if name not in self._made:
            seq = np.random.SeedSequence(
                self.root_seed, spawn_key=(self.replication, *name_key(name))
            )
            self._made[name] = np.random.Generator(np.random.PCG64(seq))
        return self._made[name]

    def buffered(self, name: str) -> BufferedDraws:
        """Buffered uniform draws of stream ``name``. Each part asks once per name: two
        buffers over one stream would split its values between them."""
        return BufferedDraws(self(name))


class BufferedDraws:
    """Uniform draws taken from a generator in blocks (exponential ones are −log u).

    One call to ``numpy`` per draw costs more than the simulation step that uses it, so draws
    come in blocks of ``block``, and ``uniform`` is the ``__next__`` of an iterator over the
    blocks (a call into C, not a Python function). The sequence of values is the same
    whatever the block size, because each block is the continuation of the generator's
    stream.
    """

    __slots__ = ("_block", "_rng", "uniform")

    def __init__(self, rng: np.random.Generator, block: int = 256) -> None:
        self._rng = rng
        self._block = block
        # uniform(): one U(0, 1) draw, strictly inside (0, 1)
        self.uniform = itertools.chain.from_iterable(self._blocks()).__next__

    def _blocks(self) -> Iterator[list[float]]:
        while True:
            # random() gives k / 2**53 with k in [0, 2**53); moving the single value 0 to
            # 2**-54 keeps every draw strictly inside (0, 1), so log(u) and inverse CDFs are
            # always finite (a shift of every value would round the largest up to 1.0)
            block = self._rng.random(self._block)
            block[block == 0.0] = 2.0**-54
            yield block.tolist()
