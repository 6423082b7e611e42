"""Erlang C against published worked examples, and the properties any M/M/N queue has."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.reports.erlang import (
    agents_needed,
    average_speed_of_answer,
    erlang_b,
    service_level,
    staffing,
    wait_probability,
)


def test_the_call_centre_helper_example_needs_fourteen_agents():
    """100 calls per 30 minutes, AHT 180 s, 80 % answered within 20 s.

    Published figures: the README of the CRAN package ErlangC 0.1.0
    (https://stat.ethz.ch/CRAN/web/packages/ErlangC/readme/README.html), which works Call Centre
    Helper's example (https://www.callcentrehelper.com/erlang-c-formula-example-121281.htm):
    traffic 10 Erlangs; with 11 agents P(wait) 0.6821182 and service level 0.3896138; with
    14 agents P(wait) 0.1741319, service level 0.88835, ASA 7.83593701177724 s, occupancy
    0.7142857; 14 agents are needed (their occupancy cap of 85 % does not bind at 13 or 14).
    """
    eleven = staffing(arrivals_per_hour=200, handle_seconds=180, answer_seconds=20, agents=11)
    assert eleven.traffic == pytest.approx(10)
    assert eleven.wait_probability == pytest.approx(0.6821182, abs=5e-8)
    assert eleven.service_level == pytest.approx(0.3896138, abs=5e-8)

    needed = agents_needed(arrivals_per_hour=200, handle_seconds=180, answer_seconds=20, target=0.8)
    assert needed.agents == 14
    assert needed.wait_probability == pytest.approx(0.1741319, abs=5e-8)
    assert needed.service_level == pytest.approx(0.88835, abs=5e-6)
    assert needed.asa_seconds == pytest.approx(7.83593701177724, abs=1e-9)
    assert needed.occupancy == pytest.approx(0.7142857, abs=5e-8)
    # 13 agents fall short of 80 %, which is why 14 are needed.
    assert service_level(traffic=10, agents=13, answer_seconds=20, handle_seconds=180) < 0.8


def test_the_call_center_tools_example_with_forty_agents():
    """1000 calls per hour, AHT 120 s, 20 s answer time, 40 agents.

    Published figures: the README of the PyPI package call-center-tools
    (https://pypi.org/project/call-center-tools/): traffic 33.333 Erlangs, waiting probability
    19.07 %, service level 93.72 %, ASA 3.43 s, occupancy 83.33 %.
    """
    forty = staffing(arrivals_per_hour=1000, handle_seconds=120, answer_seconds=20, agents=40)
    assert forty.traffic == pytest.approx(33.333, abs=5e-4)
    assert forty.wait_probability == pytest.approx(0.1907, abs=5e-5)
    assert forty.service_level == pytest.approx(0.9372, abs=5e-5)
    assert forty.asa_seconds == pytest.approx(3.43, abs=5e-3)
    assert forty.occupancy == pytest.approx(0.8333, abs=5e-5)


def test_erlang_b_matches_the_closed_form_for_small_groups():
    # B(A, N) = (A^N / N!) / Σ_{k=0..N} A^k / k!
    for traffic, agents in ((2.0, 3), (10.0, 11), (0.5, 1)):
        closed = (traffic ** agents / math.factorial(agents)) / sum(
            traffic ** k / math.factorial(k) for k in range(agents + 1))
        assert erlang_b(traffic, agents) == pytest.approx(closed, rel=1e-12)


def test_large_traffic_stays_finite():
    needed = agents_needed(arrivals_per_hour=36_000, handle_seconds=300, answer_seconds=20, target=0.8)
    assert 3000 < needed.agents < 3100
    assert 0.8 <= needed.service_level < 1


def test_no_arrivals_need_no_agent():
    assert agents_needed(arrivals_per_hour=0, handle_seconds=300, answer_seconds=60, target=0.8).agents == 0


def test_too_few_agents_never_answer_in_time():
    assert wait_probability(5.0, 5) == 1.0
    assert service_level(traffic=5.0, agents=4, answer_seconds=60, handle_seconds=300) == 0.0
    assert average_speed_of_answer(traffic=5.0, agents=5, handle_seconds=300) == math.inf


def test_a_target_must_be_a_share():
    with pytest.raises(ValueError):
        agents_needed(arrivals_per_hour=10, handle_seconds=300, answer_seconds=60, target=1.0)


traffic_values = st.floats(min_value=0.01, max_value=300, allow_nan=False)
handle_values = st.floats(min_value=10, max_value=3600, allow_nan=False)


@given(traffic=traffic_values, extra=st.integers(min_value=1, max_value=40),
       answer=st.floats(min_value=0, max_value=600), handle=handle_values)
def test_the_service_level_rises_with_every_agent(traffic, extra, answer, handle):
    agents = math.floor(traffic) + extra
    fewer = service_level(traffic=traffic, agents=agents, answer_seconds=answer, handle_seconds=handle)
    more = service_level(traffic=traffic, agents=agents + 1, answer_seconds=answer, handle_seconds=handle)
    assert 0 <= fewer <= more <= 1
    assert wait_probability(traffic, agents + 1) <= wait_probability(traffic, agents)


@given(traffic=traffic_values, extra=st.integers(min_value=1, max_value=40), handle=handle_values)
def test_the_wait_probability_is_at_least_the_blocking_probability(traffic, extra, handle):
    agents = math.floor(traffic) + extra
    assert erlang_b(traffic, agents) <= wait_probability(traffic, agents) <= 1


@given(arrivals=st.floats(min_value=0.1, max_value=2000), handle=handle_values,
       answer=st.sampled_from([20, 60, 180]), target=st.floats(min_value=0.5, max_value=0.95))
def test_the_agents_needed_are_the_fewest_that_reach_the_target(arrivals, handle, answer, target):
    needed = agents_needed(arrivals_per_hour=arrivals, handle_seconds=handle, answer_seconds=answer, target=target)
    assert needed.agents > needed.traffic
    assert needed.service_level >= target
    one_fewer = needed.agents - 1
    assert one_fewer <= needed.traffic or service_level(
        traffic=needed.traffic, agents=one_fewer, answer_seconds=answer, handle_seconds=handle) < target
    assert 0 < needed.occupancy < 1


@given(arrivals=st.floats(min_value=0.1, max_value=500), handle=handle_values)
def test_a_longer_answer_time_never_needs_more_agents(arrivals, handle):
    chat = agents_needed(arrivals_per_hour=arrivals, handle_seconds=handle, answer_seconds=60, target=0.8)
    voice = agents_needed(arrivals_per_hour=arrivals, handle_seconds=handle, answer_seconds=180, target=0.8)
    assert voice.agents <= chat.agents
