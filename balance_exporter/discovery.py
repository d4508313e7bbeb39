"""Finding what a package's modules define, so that a new provider is a file and nothing more."""

from __future__ import annotations

import importlib
import pkgutil


def defined_in(package: str, base: type, skip: frozenset[str]) -> list[type]:
    """Every subclass of ``base`` that names itself (a ``name`` of its own) in the modules of
    ``package`` but those in ``skip``, module by module in alphabetical order."""
    found: list[type] = []
    path = importlib.import_module(package).__path__
    for module_info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        if module_info.name in skip or module_info.ispkg:
            continue
        module = importlib.import_module(f"{package}.{module_info.name}")
        found += [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, base)
            and value.__module__ == module.__name__
            and "name" in vars(value)
        ]
    return found
