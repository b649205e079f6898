"""kube-scheduler's FailedScheduling message, rebuilt from an extender's filter answer.

FitError.Error() in kubernetes v1.36 pkg/scheduler/framework/types.go counts identical
reasons over every node's status and writes "0/N nodes are available: " then each
"COUNT REASON", sorted as strings and joined with ", ", then "."; PostFilter's message
(preemption's) follows. schedule_one.go's findNodesThatPassExtenders gives each node of
FailedAndUnresolvableNodes, then each other node of FailedNodes, a status whose one reason
is the extender's text. The same text is the PodScheduled condition's message.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping


def fit_error_message(
    all_nodes: int, failed: Mapping[str, str], unresolvable: Mapping[str, str]
) -> str:
    """The message before PostFilter's part, for an extender that rejected these nodes."""
    statuses = {**{n: r for n, r in failed.items() if n not in unresolvable}, **unresolvable}
    counted = sorted(f"{count} {reason}" for reason, count in Counter(statuses.values()).items())
    message = f"0/{all_nodes} nodes are available:"
    if counted:
        message += f" {', '.join(counted)}."
    return message
