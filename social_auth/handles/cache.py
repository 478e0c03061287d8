"""What discovery found, kept a little while (``DiscoveryCache``): a second sign-in of the
same handle within ``TTL`` seconds fetches nothing before the server's own pages. atproto asks
for less than 10 minutes on auth flows; the token's ``sub`` is still checked against the DID
the cache holds, so a stale entry can only fail a sign-in, never let a wrong one through."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping

#: Seconds an entry is used; the most entries kept (the oldest go first).
TTL, MAX_ENTRIES = 300.0, 10_000


class DiscoveryCache:
    def __init__(
        self,
        ttl: float = TTL,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl, self.max_entries, self.clock = ttl, max_entries, clock
        self._entries: OrderedDict[Hashable, tuple[float, Mapping[str, str]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Mapping[str, str] | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            if found[0] <= self.clock():
                del self._entries[key]
                return None
            return found[1]

    def put(self, key: Hashable, value: Mapping[str, str]) -> None:
        with self._lock:
            self._entries[key] = (self.clock() + self.ttl, dict(value))
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
