"""String-keyed registries: every name a config or the CLI accepts maps one-to-one onto a library class."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from seqrnn.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection of classes (or factories) looked up by lowercase key."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, *names: str) -> Callable[[T], T]:
        """Decorator: register the object under each of ``names`` (lowercased).

        Raises ``ValueError`` when a name is already registered.
        """

        def wrap(obj: T) -> T:
            for name in names:
                key = name.lower()
                if key in self._items:
                    raise ValueError(f"{self.kind} {name!r} registered twice")
                self._items[key] = obj
            return obj

        return wrap

    def get(self, name: str) -> T:
        """The object registered as ``name`` (case-insensitive).

        Raises :class:`ConfigError` naming the choices (and the closest name) for an unknown name.
        """
        key = str(name).lower()
        if key not in self._items:
            hint = difflib.get_close_matches(key, self._items, n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ConfigError(f"unknown {self.kind} {name!r}{extra}; choose one of: {', '.join(self._items)}")
        return self._items[key]

    def names(self) -> list[str]:
        """The registered names, in registration order."""
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return str(name).lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)
