"""Bounds on what a YAML file may expand to, and on how much of any input a message echoes.

YAML aliases let a 1 KB file name a structure of billions of values (an "anchor bomb"): loading is
cheap because aliases share one object, but anything that walks it (validation, a repr in an error
message) expands it. Files are checked once, at load time, by walking with a budget.
"""

from __future__ import annotations

import reprlib

# Far above any real registry or sweep file (the largest holds a few hundred values).
MAX_YAML_VALUES = 100_000
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxdict, _SHORT.maxlist, _SHORT.maxtuple, _SHORT.maxset = 3, 6, 6, 6, 6
_SHORT.maxstring = _SHORT.maxother = 60


def too_large(data: object, limit: int = MAX_YAML_VALUES) -> bool:
    """Whether `data`, with every alias expanded, holds more than `limit` values (walks at most `limit`)."""
    budget = limit
    stack = [data]
    while stack:
        item = stack.pop()
        budget -= 1
        if budget < 0:
            return True
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return False


def short_repr(value: object, limit: int = 100) -> str:
    """A repr of any input for an error message: a few items per level, a few levels, `limit` chars at most."""
    text = _SHORT.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
