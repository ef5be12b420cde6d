"""The one benchmark discipline every bench/ script follows.

The baseline and ours run interleaved (round 1 baseline, round 1 ours, round 2 baseline, ...), so a
busy spell on the machine weighs on both alike; each round gives one ratio. A script prints the
median ratio, its spread and its worst round, then ``RESULT <name> <median>x target <op><t>x met|MISSES``,
and a target counts as met only when the worst round meets it: a median can hide a bad round.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

# A contender runs its measured work once and returns the seconds it took.
Contender = Callable[[], float]


def add_round_options(parser: argparse.ArgumentParser, default_rounds: int) -> None:
    """--rounds N, and --quick: a smoke run of one round (scripts may also shrink their inputs)."""
    parser.add_argument("--rounds", type=int, default=default_rounds, help="interleaved rounds")
    parser.add_argument("--quick", action="store_true", help="smoke run: one round, small inputs")


def rounds_of(arguments: argparse.Namespace) -> int:
    return 1 if arguments.quick else max(1, arguments.rounds)


def timed(work: Callable[[], object]) -> Contender:
    """A contender that times one call of ``work`` with perf_counter."""

    def run() -> float:
        started = time.perf_counter()
        work()
        return time.perf_counter() - started

    return run


def interleave(contenders: dict[str, Contender], rounds: int) -> dict[str, list[float]]:
    """Seconds of each contender in each round; within a round they run in the given order."""
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            seconds[name].append(run())
    return seconds


def speedups(baseline: list[float], ours: list[float]) -> list[float]:
    """Per-round ratio baseline time / our time: ours' throughput in units of the baseline's."""
    return [theirs / mine for theirs, mine in zip(baseline, ours, strict=True)]


def slowdowns(reference: list[float], ours: list[float]) -> list[float]:
    """Per-round ratio our time / the reference's time (lower is better)."""
    return [mine / theirs for theirs, mine in zip(reference, ours, strict=True)]


def report(name: str, ratios: list[float], target: float, *, lower_is_better: bool = False) -> str:
    """Print the median ratio, its spread and the worst round; return the RESULT line, which the
    script prints last (after any other measurements), so that ``make bench`` can collect it.

    The worst round is the lowest ratio, or the highest when lower is better."""
    worst = max(ratios) if lower_is_better else min(ratios)
    median = statistics.median(ratios)
    met = worst <= target if lower_is_better else worst >= target
    operator = "<=" if lower_is_better else ">="
    print(
        f"   {name}: median {median:.2f}x over {len(ratios)} rounds, spread {min(ratios):.2f}x.."
        f"{max(ratios):.2f}x, worst round {worst:.2f}x (target {operator} {target:g}x)"
    )
    return f"RESULT {name} {median:.2f}x target {operator}{target:g}x {'met' if met else 'MISSES'}"
