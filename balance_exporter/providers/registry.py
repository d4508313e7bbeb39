"""The provider registry, keyed by the config's ``provider:`` field.

A built-in provider registers itself by being a module of this package that defines a
``Provider`` subclass with a ``name`` of its own. A pip-installed distribution adds its own
through the entry-point group ``balance_exporter.providers``: the entry point's name is the
``provider:`` value (and the ``provider`` label), its object the adapter class. A plugin that
cannot be loaded, or that takes a name already registered, is a one-line ``PluginError``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any, cast

from balance_exporter.config.settings import ProviderSettings
from balance_exporter.discovery import defined_in
from balance_exporter.providers.base import Provider

ENTRY_POINT_GROUP = "balance_exporter.providers"
# The modules of this package that are not providers.
NOT_PROVIDERS = frozenset({"base", "registry"})
BUILT_IN: dict[str, type[Provider[Any]]] = {
    cls.name: cls
    for cls in cast(
        "list[type[Provider[Any]]]",
        defined_in("balance_exporter.providers", Provider, NOT_PROVIDERS),
    )
}
# A provider name is a label value and a config word: short, lower case, no spaces.
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


class PluginError(Exception):
    """A provider plugin that cannot be used; the message is one line naming its distribution."""


def load_plugins(
    found: Iterable[EntryPoint] | None = None,
) -> dict[str, type[Provider[Any]]]:
    """The built-in providers and every plugin's, or PluginError for the first broken one."""
    providers = dict(BUILT_IN)
    points = entry_points(group=ENTRY_POINT_GROUP) if found is None else found
    for point in sorted(points, key=lambda p: p.name):
        where = f"provider plugin {point.name!r} from {_distribution(point)} ({point.value})"
        if point.name in BUILT_IN:
            raise PluginError(f"{where}: {point.name!r} is built in and cannot be replaced")
        if point.name in providers:
            raise PluginError(f"{where}: {point.name!r} is already provided by another plugin")
        if not NAME.fullmatch(point.name):
            raise PluginError(f"{where}: the name must be lower case letters, digits, - or _")
        try:
            loaded = point.load()
        except Exception as exc:
            raise PluginError(f"{where}: cannot be loaded: {type(exc).__name__}: {exc}") from None
        problem = _contract_problem(point.name, loaded)
        if problem:
            raise PluginError(f"{where}: {problem}")
        providers[point.name] = loaded
    return providers


def _contract_problem(name: str, loaded: object) -> str | None:
    if not (isinstance(loaded, type) and issubclass(loaded, Provider)):
        return "is not a balance_exporter.providers.base.Provider subclass"
    if getattr(loaded, "name", None) != name:
        return f"its class says name = {getattr(loaded, 'name', None)!r}; it must be {name!r}"
    if not isinstance(getattr(loaded, "default_base_url", None), str):
        return "has no default_base_url"
    settings = getattr(loaded, "settings_type", None)
    if not (isinstance(settings, type) and issubclass(settings, ProviderSettings)):
        return "settings_type is not a ProviderSettings dataclass"
    abstract = sorted(
        getattr(variant, "__abstractmethods__", ()) for variant in loaded.variants().values()
    )
    if any(abstract):
        return f"leaves abstract methods unimplemented: {', '.join(m for a in abstract for m in a)}"
    return None


def _distribution(point: EntryPoint) -> str:
    dist = point.dist
    return (
        f"distribution {dist.name} {dist.version}"
        if dist is not None
        else "an unknown distribution"
    )


# What the config checker and the scheduler look providers up in: the built-in ones, and the
# plugins once install_plugins() has run (at start-up, before any config is read).
PROVIDERS: dict[str, type[Provider[Any]]] = dict(BUILT_IN)


def describe_providers(providers: Mapping[str, type[Provider[Any]]]) -> str:
    """The registered providers and their APIs, for --config.check."""
    words = []
    for name, cls in sorted(providers.items()):
        variants = [variant for variant in cls.variants() if variant]
        words.append(f"{name} ({', '.join(variants)})" if variants else name)
    return ", ".join(words)


def install_plugins() -> None:
    """Add the installed plugins to PROVIDERS, or PluginError and PROVIDERS unchanged."""
    found = load_plugins()
    PROVIDERS.clear()
    PROVIDERS.update(found)


__all__ = [
    "BUILT_IN",
    "ENTRY_POINT_GROUP",
    "PROVIDERS",
    "PluginError",
    "Provider",
    "describe_providers",
    "install_plugins",
    "load_plugins",
]
