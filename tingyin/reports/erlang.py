"""Erlang C: the queue of a call center with ``n`` agents, Poisson arrivals, exponential handling.

Sans-I/O and exact: the wait probability comes from the Erlang B recursion
``B(k) = A·B(k-1) / (k + A·B(k-1))``, which never forms ``A**n / n!`` (that overflows a float
from about 170 agents) and is exact for any size, then ``C = n·B / (n - A·(1 - B))``.

- traffic ``A`` (erlangs) = calls per interval × AHT / interval length
- probability of waiting ``P(W>0) = C(n, A)``
- service level (share answered within ``t`` s) ``= 1 - C·exp(-(n - A)·t / AHT)``
- average speed of answer ``ASA = C·AHT / (n - A)``
- with shrinkage ``s`` (breaks, training, absence) the roster needs ``ceil(n / (1 - s))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_AGENTS = 100_000


def traffic(calls: float, aht_seconds: float, interval_seconds: float = 1800.0) -> float:
    """Offered load in erlangs: ``calls`` arriving in an interval, each held ``aht_seconds``."""
    if calls < 0 or aht_seconds < 0 or interval_seconds <= 0:
        raise ValueError("calls and AHT must be >= 0, the interval > 0")
    return calls * aht_seconds / interval_seconds


def erlang_b(agents: int, load: float) -> float:
    """Blocking probability of ``agents`` servers offered ``load`` erlangs (no queue)."""
    if agents < 0 or load < 0:
        raise ValueError("agents and load must be >= 0")
    b = 1.0
    for k in range(1, agents + 1):
        b = load * b / (k + load * b)
    return b


def wait_probability(agents: int, load: float) -> float:
    """Erlang C: the chance a call waits at all; 1 when the agents cannot keep up (n <= A)."""
    if agents <= load:
        return 1.0
    b = erlang_b(agents, load)
    return agents * b / (agents - load * (1.0 - b))


def service_level(agents: int, load: float, aht_seconds: float, target_seconds: float) -> float:
    """The share of calls answered within ``target_seconds``."""
    if agents <= load:
        return 0.0
    if load == 0:
        return 1.0
    pw = wait_probability(agents, load)
    return 1.0 - pw * math.exp(-(agents - load) * target_seconds / aht_seconds)


def asa(agents: int, load: float, aht_seconds: float) -> float:
    """Average speed of answer (seconds), over all calls; infinite when n <= A."""
    if agents <= load:
        return math.inf
    return wait_probability(agents, load) * aht_seconds / (agents - load)


@dataclass(frozen=True)
class Staffing:
    load: float  # erlangs
    agents: int  # on the phones at once, meeting the target
    rostered: int  # agents / (1 - shrinkage), rounded up
    service_level: float  # what ``agents`` achieve
    asa_seconds: float
    wait_probability: float
    occupancy: float  # load / agents


def agents_needed(
    calls: float,
    aht_seconds: float,
    *,
    target_level: float = 0.8,
    target_seconds: float = 20.0,
    interval_seconds: float = 1800.0,
    shrinkage: float = 0.0,
    max_occupancy: float = 1.0,
) -> Staffing:
    """The fewest agents whose service level reaches ``target_level`` within ``target_seconds``
    (and whose occupancy stays at or below ``max_occupancy``), and the roster for them."""
    if not 0 < target_level < 1:
        raise ValueError("target_level must be between 0 and 1")
    if not 0 <= shrinkage < 1:
        raise ValueError("shrinkage must be in [0, 1)")
    load = traffic(calls, aht_seconds, interval_seconds)
    if load == 0:
        return Staffing(0.0, 0, 0, 1.0, 0.0, 0.0, 0.0)
    n = max(1, math.floor(load) + 1, math.ceil(load / max_occupancy))
    while service_level(n, load, aht_seconds, target_seconds) < target_level:
        n += 1
        if n > MAX_AGENTS:
            raise ValueError("more than 100 000 agents: check the inputs")
    return Staffing(
        load=load,
        agents=n,
        rostered=math.ceil(n / (1.0 - shrinkage) - 1e-9),
        service_level=service_level(n, load, aht_seconds, target_seconds),
        asa_seconds=asa(n, load, aht_seconds),
        wait_probability=wait_probability(n, load),
        occupancy=load / n,
    )
