"""The tables the provider adapters' descriptors fill (the settings' key and base-URL
variables, the provider labels), complete before their first read.

The provider registry fills them when it imports the adapters (`workbench.providers.registry`,
docs/extending.md). That import costs about 0.3 s (httpx, Pillow, every adapter), which a command
that reads none of them should not pay: `workbench history` answered by a running `workbench
run` (`commands/_queries.py`) is a 0.1 s process. So the first read of any table runs
`ProviderTable.completer` once; the package sets it to import the registry
(`workbench/__init__.py`). This module imports nothing from the project.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

if TYPE_CHECKING:
    from _collections_abc import dict_items, dict_keys, dict_values

_K = TypeVar("_K")
_V = TypeVar("_V")
# Another thread that reads a table while one completes them waits for it; the completing thread
# itself may read them meanwhile (re-entrant), and then sees them as they are.
_COMPLETING = threading.RLock()


class ProviderTable(dict[_K, _V]):
    """A dict whose every read first completes all tables (writes do not: the registry writes
    while completing)."""

    completer: ClassVar[Callable[[], None] | None] = None
    _completed: ClassVar[bool] = False
    _busy: ClassVar[bool] = False

    @classmethod
    def complete(cls) -> None:
        if ProviderTable._completed:
            return
        with _COMPLETING:
            if ProviderTable._completed or ProviderTable._busy or ProviderTable.completer is None:
                return
            ProviderTable._busy = True
            try:
                ProviderTable.completer()
                ProviderTable._completed = True
            finally:
                ProviderTable._busy = False

    def __getitem__(self, key: _K) -> _V:
        self.complete()
        return super().__getitem__(key)

    def get(self, key: _K, default: Any = None) -> Any:
        self.complete()
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.complete()
        return super().__contains__(key)

    def __iter__(self) -> Iterator[_K]:
        self.complete()
        return super().__iter__()

    def __len__(self) -> int:
        self.complete()
        return super().__len__()

    def keys(self) -> dict_keys[_K, _V]:
        self.complete()
        return super().keys()

    def values(self) -> dict_values[_K, _V]:
        self.complete()
        return super().values()

    def items(self) -> dict_items[_K, _V]:
        self.complete()
        return super().items()

    def copy(self) -> dict[_K, _V]:
        self.complete()
        return dict(super().items())

    def __repr__(self) -> str:
        self.complete()
        return super().__repr__()
