"""RetryFilter: skip the nodes where binding this pod already failed.

The bind verb records each failed bind (extender/cache/failures.py); a request carries the
pod's failed nodes and attempt count as Nova's `retry`. Past `max_attempts` Nova gives up
on the instance; a pod cannot be put in error, so it is refused everywhere, with the reason,
until its failures expire (`bind_failure_ttl_seconds`), and then starts afresh.
"""

from __future__ import annotations

from extender.engine.filters.base import BaseFilter, fmt_num
from extender.model.hoststate import HostState
from extender.model.request import RequestSpec


class RetryFilter(BaseFilter):
    """Skips the nodes where binding this pod already failed; refuses it everywhere past
    `max_attempts` until its failures expire."""

    def _exhausted(self, spec: RequestSpec) -> bool:
        return spec.retry is not None and spec.retry.num_attempts > self.options.max_attempts

    def applies(self, spec: RequestSpec) -> bool:
        return spec.retry is not None and (bool(spec.retry.hosts) or self._exhausted(spec))

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        retry = spec.retry
        if retry is None:
            return None
        if self._exhausted(spec):
            return (
                f"{self.name}: binding this pod failed {retry.num_attempts - 1} times "
                f"(max_attempts {self.options.max_attempts}); it waits until the failures "
                f"expire ({fmt_num(self.options.bind_failure_ttl_seconds)}s)"
            )
        if host.host in retry.hosts:
            return f"{self.name}: binding this pod to this node already failed"
        return None
