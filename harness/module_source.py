"""A reproduction module's `Hyperparameters` defaults, read from its source without importing it.

Importing a reproduction imports torch (seconds of start-up), and `gan-bench show` only needs to
print the paper's defaults. They are literals in a dataclass by the README's own rule, so they can be
read from the syntax tree. Anything the reader cannot read as a literal (a computed default, an
inherited dataclass) makes it return None, and the caller says so instead of guessing; `gan-bench
validate` imports every module and checks the real values.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

HYPERPARAMETERS_CLASS = "Hyperparameters"


def module_file(module_name: str) -> Path | None:
    """Where `reproductions.<name>` lives (the package path includes $GAN_BENCH_REPRODUCTIONS)."""
    try:
        spec = importlib.util.find_spec(module_name)  # imports the (torch-free) parent package only
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec is not None and spec.origin else None


def static_defaults(module_name: str) -> dict[str, object] | None:
    """{name: default} of the module's Hyperparameters dataclass, in declaration order, or None."""
    path = module_file(module_name)
    if path is None:
        return None
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None  # importing it will report the problem with its line
    constants = _module_constants(tree)
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == HYPERPARAMETERS_CLASS:
            if node.bases:  # inherited fields live in another module: not read here
                return None
            return _class_defaults(node, constants)
    return None


def _module_constants(tree: ast.Module) -> dict[str, object]:
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                constants[node.targets[0].id] = ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, RecursionError):
                continue
    return constants


def _class_defaults(node: ast.ClassDef, constants: dict[str, object]) -> dict[str, object] | None:
    defaults: dict[str, object] = {}
    for item in node.body:
        if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)):
            continue
        annotation = ast.unparse(item.annotation)
        if annotation.startswith(("ClassVar", "typing.ClassVar")):
            continue
        if item.value is None:
            return None  # a field without a default: the dataclass could not be built with no arguments
        value = _literal(item.value, constants)
        if value is _UNREADABLE:
            return None
        defaults[item.target.id] = value
    return defaults


_UNREADABLE = object()


def _literal(node: ast.expr, constants: dict[str, object]) -> object:
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "field":
        keywords = {k.arg: k.value for k in node.keywords}
        if "default" in keywords:
            return _literal(keywords["default"], constants)
        factory = keywords.get("default_factory")
        if isinstance(factory, ast.Name) and factory.id in ("list", "dict", "tuple"):
            return {"list": [], "dict": {}, "tuple": ()}[factory.id]
        return _UNREADABLE
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return _UNREADABLE
