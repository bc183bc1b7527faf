"""How fast a batch can possibly go: the lower bound on its wall time, and which limit sets it.

Three things bound a batch from below whatever the scheduler does: one restaurant's critical path (its
longest chain of dependent calls), the platform work divided by the concurrency cap, and the account gate
(the platform creates one account per interval, so n new accounts take n-1 intervals, plus what must
follow the last one). The benchmark measures the engine against this bound; `yolobatch run` and the
dashboard say it up front and never promise an ETA below it; the batch chart draws it per completion
count (`earliest_completions`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from yolobatch.domain.plan import PLAN, SPECS, CallClass, SubStep, dependents

ACCOUNT = SubStep.CLOUDWAITRESS_ACCOUNT


@dataclass(frozen=True)
class Bound:
    """Seconds: each of the three bounds and their maximum; `limit` names the one that sets the pace."""

    critical_path: float
    work_over_cap: float
    account_chain: float

    @property
    def seconds(self) -> float:
        return max(self.critical_path, self.work_over_cap, self.account_chain)

    @property
    def limit(self) -> str:
        """ "account gate", "platform cap" or "critical path": whichever is largest."""
        named = {
            "account gate": self.account_chain,
            "platform cap": self.work_over_cap,
            "critical path": self.critical_path,
        }
        return max(named, key=lambda name: named[name])


def lower_bound(
    *,
    critical_path: float,
    platform_work: float,
    cap: int,
    accounts: int,
    account_interval: float,
    account_tail: float,
) -> Bound:
    """The bound from totals: `platform_work` is the seconds of capped calls summed, `account_tail` the
    quickest account creation plus everything that must follow it."""
    chain = (accounts - 1) * account_interval + account_tail if accounts > 0 else 0.0
    return Bound(critical_path=critical_path, work_over_cap=platform_work / max(cap, 1), account_chain=chain)


def _longest_from(key: SubStep, seconds: Mapping[SubStep, float], memo: dict[SubStep, float]) -> float:
    """Longest chain of `seconds` from the start of `key` to the end of the graph."""
    if key not in memo:
        tail = max((_longest_from(child, seconds, memo) for child in dependents(key)), default=0.0)
        memo[key] = seconds.get(key, 0.0) + tail
    return memo[key]


def longest_path(seconds: Mapping[SubStep, float], start: SubStep | None = None) -> float:
    """One restaurant's critical path (from `start`, or from any sub-step) given each call's seconds; a
    settled call counts 0."""
    memo: dict[SubStep, float] = {}
    if start is not None:
        return _longest_from(start, seconds, memo)
    return max(_longest_from(spec.key, seconds, memo) for spec in PLAN)


def remaining_from_counts(
    open_jobs: int, pending: Mapping[str, int], *, cap: int, account_interval: float, time_scale: float
) -> tuple[Bound, int]:
    """The bound on what is left of a batch from counts alone (no per-restaurant rows, so it stays cheap for
    10 000 restaurants): `pending` says how many of the `open_jobs` still have each call to do. The
    critical path counts only the calls every open restaurant still has, so it stays a lower bound."""
    scaled = {spec.key: spec.nominal_seconds * time_scale for spec in PLAN}
    shared = {key: s for key, s in scaled.items() if open_jobs and pending.get(key.value, 0) >= open_jobs}
    accounts = pending.get(ACCOUNT.value, 0)
    work = sum(
        pending.get(key.value, 0) * s
        for key, s in scaled.items()
        if SPECS[key].call_class == CallClass.PLATFORM
    )
    bound = lower_bound(
        critical_path=longest_path(shared) if shared else 0.0,
        platform_work=work,
        cap=cap,
        accounts=accounts,
        account_interval=account_interval,
        account_tail=(longest_path(shared, ACCOUNT) if ACCOUNT in shared else scaled[ACCOUNT])
        if accounts
        else 0.0,
    )
    return bound, accounts


def duration(seconds: float) -> str:
    """`seconds` as a person reads it: "45 s", "9 minutes", "2 h 05 min"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} minutes"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def rate(interval: float) -> str:
    """One account per `interval` seconds, as a person reads it: "1 per minute", "1 per 3 s"."""
    per_minute = 60 / interval
    if per_minute >= 1 and abs(per_minute - round(per_minute)) < 1e-9:
        return f"{round(per_minute)} per minute"
    return f"1 per {duration(interval)}"


def headline(bound: Bound, accounts: int, account_interval: float, cap: int) -> str | None:
    """Which limits set the pace, said before a batch runs ("10 new accounts at 1 per minute: at least 9
    minutes"); None when nothing holds the batch back beyond one restaurant's own chain of calls."""
    parts = []
    if accounts > 1 and bound.account_chain > bound.critical_path:
        gate = (accounts - 1) * account_interval
        parts.append(f"{accounts} new accounts at {rate(account_interval)}: at least {duration(gate)}")
    if bound.work_over_cap > bound.critical_path:
        parts.append(f"platform calls at most {cap} at a time: at least {duration(bound.work_over_cap)}")
    return "; ".join(parts) or None


def nominal_account_tail() -> float:
    """The account call plus the longest chain of calls that must follow it (the plan's nominal seconds)."""
    return longest_path({spec.key: spec.nominal_seconds for spec in PLAN}, ACCOUNT)


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
    """Seconds after the batch's start by which k = 1..total restaurants could have completed at best: the
    k-th cannot end before k-1 account intervals plus the quickest account-to-end tail, nor before k
    restaurants' platform work has passed through the cap. Observed figures are used when the batch has
    them; before any restaurant completes, the plan's nominal durations stand in."""
    tail = quickest_tail if quickest_tail is not None else nominal_account_tail() * time_scale
    work = platform_seconds if platform_seconds is not None else NOMINAL_PLATFORM_SECONDS * time_scale
    return [max((k - 1) * account_interval + tail, k * work / max(1, cap)) for k in range(1, total + 1)]
