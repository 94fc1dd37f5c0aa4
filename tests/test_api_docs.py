"""The public API's reference: every public function and class has a numpydoc docstring whose
Parameters section names each argument of its signature, and functions say what they
return (``help(sim.run_experiment)`` is the reference, not one line)."""

from __future__ import annotations

import inspect
import re

import pytest
from pydantic import BaseModel

import sim

PUBLIC = {name: getattr(sim, name) for name in sim.__all__}
try:  # the adapter's names too, where its extra is installed
    import sim.ema

    PUBLIC |= {"ema.scenario_model": sim.ema.scenario_model}
    PUBLIC |= {"ema.analysis_frame": sim.ema.analysis_frame}
except ImportError:
    pass


def _section(doc: str, title: str) -> str:
    """The text of one numpydoc section (empty if absent)."""
    found = re.search(rf"^{title}\n-+\n(.*?)(?=^\w[\w ]*\n-+\n|\Z)", doc, re.M | re.S)
    return found.group(1) if found else ""


def _documented(section: str) -> set[str]:
    """Names a Parameters section describes: its unindented lines, ``a, b : type`` style."""
    names: set[str] = set()
    for line in section.splitlines():
        if line and not line[0].isspace():
            names.update(n.strip() for n in line.split(":")[0].split(","))
    return names


def _arguments(function) -> set[str]:
    signature = inspect.signature(function)
    return {n for n in signature.parameters if n not in {"self", "cls", "args", "kwargs"}}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_public_name_has_a_numpydoc_docstring(name):
    target = PUBLIC[name]
    doc = inspect.getdoc(target) or ""
    assert len(doc.splitlines()) >= 3, f"{name}: a summary and a description at least"
    if inspect.isclass(target) and issubclass(target, BaseModel):
        return  # pydantic models: each field carries its own description
    function = target.__init__ if inspect.isclass(target) else target
    arguments = _arguments(function)
    if arguments:
        missing = arguments - _documented(_section(doc, "Parameters"))
        assert not missing, f"{name}: Parameters does not describe {sorted(missing)}"
    if inspect.isfunction(target):
        assert _section(doc, "Returns"), f"{name}: no Returns section"


def test_the_section_reader_finds_what_is_missing():
    doc = "Summary.\n\nParameters\n----------\na, b\n    Two.\nc : int\n    One.\n"
    assert _documented(_section(doc, "Parameters")) == {"a", "b", "c"}
    assert _section(doc, "Returns") == ""
