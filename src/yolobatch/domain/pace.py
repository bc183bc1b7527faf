"""The fastest a batch could go: when its k-th restaurant could complete at the earliest.

The same three limits as the benchmark's lower bound (benchmarks/README.md), per completion count: the
account gate starts one account per interval, so the k-th restaurant cannot end before k-1 intervals
plus the quickest account-to-end tail; and all platform calls share the global cap, so k restaurants'
platform work takes at least k × (work per restaurant) / cap. Observed figures are used when the batch
has them; before any restaurant completes, the plan's nominal durations stand in.
"""

from __future__ import annotations

from yolobatch.domain.plan import PLAN, SPECS, CallClass, SubStep


def _nominal_tail() -> float:
    """The account call plus the longest chain of calls that must follow it (nominal seconds)."""
    memo: dict[SubStep, float] = {}

    def longest(key: SubStep) -> float:
        if key not in memo:
            children = [spec.key for spec in PLAN if key in spec.needs]
            memo[key] = SPECS[key].nominal_seconds + max((longest(c) for c in children), default=0.0)
        return memo[key]

    return longest(SubStep.CLOUDWAITRESS_ACCOUNT)


NOMINAL_TAIL = _nominal_tail()
NOMINAL_PLATFORM_SECONDS = sum(s.nominal_seconds for s in PLAN if s.call_class == CallClass.PLATFORM)


def earliest_completions(
    total: int,
    *,
    account_interval: float,
    cap: int,
    quickest_tail: float | None,
    platform_seconds: float | None,
    time_scale: float = 1.0,
) -> list[float]:
    """Seconds after the batch's start by which k = 1..total restaurants could have completed at best."""
    tail = quickest_tail if quickest_tail is not None else NOMINAL_TAIL * time_scale
    work = platform_seconds if platform_seconds is not None else NOMINAL_PLATFORM_SECONDS * time_scale
    return [max((k - 1) * account_interval + tail, k * work / max(1, cap)) for k in range(1, total + 1)]
