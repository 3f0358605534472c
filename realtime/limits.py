"""What one user may hold across their sockets in this process: how many sockets, and
how many new turns in a window.

A limit kept per connection is no limit: ten sockets of one learner sent ten times the
turns. So each user (a platform's user id) has one entry while they have a socket here,
shared by all their sockets, and kept for one window after the last closes (else a
reconnect would start the count again); memory follows the users connected lately, not
every user ever seen. With several processes each keeps its own: a user whose sockets
are spread over N processes gets N times the limits.
"""

from __future__ import annotations

import bisect
import dataclasses
import time

__all__ = ["RateLimit", "UserLimits", "UserSlot"]


class RateLimit:
    """At most ``count`` accepted turns in any ``window`` seconds."""

    __slots__ = ("_count", "_times", "_window")

    def __init__(self, count: int, window: float) -> None:
        self._count = count
        self._window = window
        self._times: list[float] = []  # oldest first (a list: a deque costs 64 slots)

    def allows(self, now: float) -> bool:
        """Whether one more turn may be taken at ``now``."""
        del self._times[: bisect.bisect_right(self._times, now - self._window)]
        return len(self._times) < self._count

    def record(self, now: float) -> None:
        """A turn was taken at ``now``."""
        self._times.append(now)

    def recent(self, now: float) -> bool:
        """Whether a turn was taken within the window before ``now``."""
        del self._times[: bisect.bisect_right(self._times, now - self._window)]
        return bool(self._times)


@dataclasses.dataclass(eq=False, slots=True)
class UserSlot:
    """One user's sockets here, and their shared turn limit."""

    key: tuple[str, str]
    turns: RateLimit
    sockets: int = 0
    left_at: float = 0.0  # when the last socket closed (monotonic clock)


class UserLimits:
    """Sockets and turns per user, in this process.

    Args:
        max_sockets: the most sockets one user may hold open at once.
        turns, window: the most new turns one user may send in ``window`` seconds.
    """

    def __init__(self, *, max_sockets: int, turns: int, window: float) -> None:
        self._max_sockets = max_sockets
        self._turns = turns
        self._window = window
        self._users: dict[tuple[str, str], UserSlot] = {}
        # Users with no socket left, oldest departure first, kept one window.
        self._departed: dict[tuple[str, str], UserSlot] = {}

    def join(self, platform_id: str, user_id: str) -> UserSlot | None:
        """Count one more socket of the user; None if they hold the most already."""
        self._forget_departed()
        key = (platform_id, user_id)
        slot = self._users.get(key)
        if slot is None:
            slot = self._users[key] = UserSlot(key, RateLimit(self._turns, self._window))
        elif slot.sockets >= self._max_sockets:
            return None
        self._departed.pop(key, None)
        slot.sockets += 1
        return slot

    def leave(self, slot: UserSlot) -> None:
        """One socket of the user closed; with the last, the entry is kept one window."""
        slot.sockets -= 1
        if slot.sockets == 0:
            slot.left_at = time.monotonic()
            self._departed[slot.key] = slot

    def _forget_departed(self) -> None:
        cutoff = time.monotonic() - self._window
        while self._departed:
            key, slot = next(iter(self._departed.items()))
            if slot.left_at > cutoff:
                return
            del self._departed[key]
            del self._users[key]

    def __len__(self) -> int:
        return len(self._users)
