"""Composing YAML within fixed bounds, so that a hostile file is refused before it costs much.

PyYAML composes an alias as the very node its anchor names, so a walk of the result as a
tree walks every alias again: nine levels of nine aliases each grow 600 bytes into 9**9
values (a "billion laughs"). The composer here counts each value as the tree it will
become, an alias at the full size of what it names (measured once, when its anchor is
composed), and stops at the first bound passed, naming the line and the key path there.
The bounds also cap what the rest of the loader does: walking, merging and validating are
linear in the number of values, and their recursion is no deeper than the nesting.

Events come from libyaml when PyYAML has it (its scanner and parser are C loops, not
recursion), else from PyYAML's own parser.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode
from yaml.resolver import Resolver

from sim.config.errors import PathKey, Position, Problem, ScenarioError

try:
    from yaml.cyaml import CParser as _Events
except ImportError:  # PyYAML built without libyaml

    class _Events(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):  # type: ignore[no-redef]
        def __init__(self, text: str) -> None:
            yaml.reader.Reader.__init__(self, text)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)


# Far beyond any scenario or sweep (the shipped baseline, resolved, is 10.8 KB, about 1,000
# values and 8 levels deep), far below what costs more than a second or a few MB to refuse.
MAX_FILE_BYTES = 1 << 20  # 1 MiB, checked before the file is read
MAX_VALUES = 100_000  # keys, items and scalars of a scenario and every file it extends
MAX_DEPTH = 32  # levels of nesting, aliases expanded
MAX_KEYS = 1_000  # keys in one mapping
MAX_SCALAR_CHARS = 10_000  # characters in one scalar (a description may have 2,000)
MAX_FILES = 32  # files read for one scenario, counting each extends (repeats included)
_MERGE = "tag:yaml.org,2002:merge"


@dataclass
class Budget:
    """What one load may still read: values and files, shared by a scenario, the files it
    extends and its ``--set`` values (so that many small files cannot add up to a bomb)."""

    values: int = MAX_VALUES
    files: int = MAX_FILES


def refuse(where: Position, path: PathKey, message: str) -> ScenarioError:
    return ScenarioError([Problem(where, path, message)])


class BoundedLoader(Composer, _Events, SafeConstructor, Resolver):
    """PyYAML's safe loader, whose composer checks every bound as each node is composed."""

    def __init__(self, text: str, shown: str, budget: Budget) -> None:
        _Events.__init__(self, text)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self.shown = shown
        self.budget = budget
        self.path: list[str | int] = []
        self.depth = 0  # nodes being composed around the current one
        self.reach = 0  # the deepest level reached in the node being composed
        self.expanded: dict[int, tuple[int, int]] = {}  # id(anchored node): (values, height)
        self.merged: dict[int, int] = {}  # id(mapping): pairs copied in by merge keys (<<)

    def flatten_mapping(self, node: MappingNode) -> None:
        """PyYAML's merge (``<<``), remembering how many of the first pairs it copied in:
        keys written in the mapping itself may override those, and only those."""
        own = sum(1 for key, _ in node.value if key.tag != _MERGE)
        super().flatten_mapping(node)
        if len(node.value) > own:
            self.merged[id(node)] = len(node.value) - own

    def _refuse(self, mark: yaml.Mark, message: str) -> ScenarioError:
        where = Position(self.shown, mark.line + 1, mark.column + 1)
        return refuse(where, tuple(self.path), message)

    def _spend(self, values: int, mark: yaml.Mark, alias: bool) -> None:
        self.budget.values -= values
        if self.budget.values < 0:
            how = "; an alias counts as the whole value it names" if alias else ""
            raise self._refuse(
                mark,
                f"more than {MAX_VALUES:,} keys, items and values in all{how} "
                f"(the limit for a scenario and the files it extends)",
            )

    def _reach(self, level: int, mark: yaml.Mark) -> None:
        if level > MAX_DEPTH:
            raise self._refuse(mark, f"nested more than {MAX_DEPTH} levels deep")
        self.reach = max(self.reach, level)

    def compose_node(self, parent: Node | None, index: Node | int | None) -> Node:
        event = self.peek_event()
        mark = event.start_mark
        part = _part(index)
        if part is not None:
            self.path.append(part)
        elif isinstance(parent, MappingNode) and len(parent.value) >= MAX_KEYS:
            raise self._refuse(mark, f"more than {MAX_KEYS:,} keys in one mapping")
        if isinstance(event, AliasEvent):
            node = super().compose_node(parent, index)
            if id(node) not in self.expanded:  # its anchor is still being composed
                raise self._refuse(mark, "an alias inside the value it names (a loop)")
            values, height = self.expanded[id(node)]
            self._reach(self.depth + height, mark)
            self._spend(values, mark, alias=True)
        else:
            if isinstance(event, ScalarEvent) and len(event.value) > MAX_SCALAR_CHARS:
                raise self._refuse(
                    mark,
                    f"a text of {len(event.value):,} characters; at most {MAX_SCALAR_CHARS:,}",
                )
            self._reach(self.depth + 1, mark)
            self._spend(1, mark, alias=False)
            left, outer = self.budget.values + 1, self.reach
            self.depth, self.reach = self.depth + 1, self.depth + 1
            node = super().compose_node(parent, index)
            self.depth -= 1
            if event.anchor is not None:
                self.expanded[id(node)] = (left - self.budget.values, self.reach - self.depth)
            self.reach = max(outer, self.reach)
        if part is not None:
            self.path.pop()
        return node


def _part(index: Node | int | None) -> str | int | None:
    """The path part of a value: its key's text in a mapping, its index in a list; ``None``
    for a key itself."""
    if isinstance(index, ScalarNode):
        return index.value
    if isinstance(index, Node):
        return "?"  # a key that is not a scalar, refused when the mapping is built
    return index
