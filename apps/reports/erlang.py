"""Erlang C: how many agents answer a share of live contacts within a target time.

The M/M/N queue: contacts arrive at random (Poisson) and wait until one of N agents is free;
handling times are exponential. Pure maths, no Django: the staffing forecast feeds it rates.

P(wait) comes from the Erlang B recursion (no factorials or powers, so a traffic of
hundreds of Erlangs neither overflows nor loses precision):
    B(0) = 1,  B(k) = A·B(k−1) / (k + A·B(k−1)),  C(N) = N·B(N) / (N − A·(1 − B(N))).
"""

import math
from dataclasses import dataclass


def erlang_b(traffic: float, agents: int) -> float:
    """Probability that all ``agents`` are busy when nobody may queue (the blocking probability)."""
    if traffic < 0 or agents < 0:
        raise ValueError("traffic and agents are not negative")
    blocking = 1.0
    for k in range(1, agents + 1):
        blocking = traffic * blocking / (k + traffic * blocking)
    return blocking


def wait_probability(traffic: float, agents: int) -> float:
    """Erlang C: the probability that a contact has to wait. 1 when the agents cannot keep up (N ≤ A)."""
    if agents <= traffic:
        return 1.0
    blocking = erlang_b(traffic, agents)
    return agents * blocking / (agents - traffic * (1 - blocking))


def service_level(*, traffic: float, agents: int, answer_seconds: float, handle_seconds: float) -> float:
    """Share of contacts answered within ``answer_seconds``: 1 − P(wait)·e^(−(N−A)·T/AHT)."""
    if agents <= traffic:
        return 0.0
    waiting = wait_probability(traffic, agents)
    return 1 - waiting * math.exp(-(agents - traffic) * answer_seconds / handle_seconds)


def average_speed_of_answer(*, traffic: float, agents: int, handle_seconds: float) -> float:
    """Expected wait in seconds over all contacts (ASA): P(wait)·AHT / (N − A); infinite when N ≤ A."""
    if agents <= traffic:
        return math.inf
    return wait_probability(traffic, agents) * handle_seconds / (agents - traffic)


@dataclass(frozen=True)
class Staffing:
    """What ``agents`` agents achieve for one interval's traffic."""

    agents: int
    traffic: float              # Erlangs: arrivals per second × handle seconds
    wait_probability: float
    service_level: float
    asa_seconds: float
    occupancy: float            # share of the agents' time spent handling (A / N)


def staffing(*, arrivals_per_hour: float, handle_seconds: float, answer_seconds: float, agents: int) -> Staffing:
    traffic = arrivals_per_hour / 3600 * handle_seconds
    if traffic == 0:
        return Staffing(agents=agents, traffic=0.0, wait_probability=0.0, service_level=1.0, asa_seconds=0.0,
                        occupancy=0.0)
    return Staffing(
        agents=agents, traffic=traffic, wait_probability=wait_probability(traffic, agents),
        service_level=service_level(traffic=traffic, agents=agents, answer_seconds=answer_seconds,
                                    handle_seconds=handle_seconds),
        asa_seconds=average_speed_of_answer(traffic=traffic, agents=agents, handle_seconds=handle_seconds),
        occupancy=min(1.0, traffic / agents) if agents else 1.0)


def agents_needed(*, arrivals_per_hour: float, handle_seconds: float, answer_seconds: float,
                  target: float) -> Staffing:
    """The fewest agents (more than the traffic) who answer ``target`` of contacts within ``answer_seconds``.

    No arrivals need no agent. The service level rises with every agent and tends to 1,
    so the search ends for any target below 1.
    """
    if not 0 < target < 1:
        raise ValueError("the target is a share between 0 and 1")
    if arrivals_per_hour < 0 or handle_seconds <= 0 or answer_seconds < 0:
        raise ValueError("arrivals, handle time and answer time are positive")
    if arrivals_per_hour == 0:
        return staffing(arrivals_per_hour=0, handle_seconds=handle_seconds, answer_seconds=answer_seconds, agents=0)
    traffic = arrivals_per_hour / 3600 * handle_seconds
    agents = math.floor(traffic) + 1
    while service_level(traffic=traffic, agents=agents, answer_seconds=answer_seconds,
                        handle_seconds=handle_seconds) < target:
        agents += 1
    return staffing(arrivals_per_hour=arrivals_per_hour, handle_seconds=handle_seconds,
                    answer_seconds=answer_seconds, agents=agents)
