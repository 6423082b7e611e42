"""Hand-worked deadlines through the configured policy (the preview the API and command share)."""

from datetime import datetime

import pytest

from apps.policy.services import PolicyError, get_region
from apps.sla.services import preview


def due(region, channel, received):
    result = preview(region=get_region(region), channel=channel, received=datetime.fromisoformat(received))
    return {key: value.isoformat() for key, value in result.items()}


CASES = [
    # region, channel, received (local), acknowledge due (UTC), response due (UTC), why
    ("europe", "email", "2025-12-23T15:00+01:00", "2025-12-30T08:00:00+00:00", "2025-12-23T22:00:00+00:00",
     "2 h on the 23rd, 24th-28th closed, 9 h on the 29th, 1 h on the 30th; email 8 h wall inside 24x5"),
    ("europe", "email", "2025-05-16T16:00+02:00", "2025-05-20T08:00:00+00:00", "2025-05-16T22:00:00+00:00",
     "Friday 16:00: 1 h Fri, 9 h Mon, 2 h Tue -> Tue 10:00 CEST"),
    ("europe", "email", "2025-06-19T16:00+02:00", "2025-06-24T08:00:00+00:00", "2025-06-19T22:00:00+00:00",
     "Midsummer Eve (Fri 20 Jun) is closed: Thu 1 h, Mon 9 h, Tue 2 h"),
    ("europe", "feedback", "2025-03-28T16:00+01:00", "2025-04-01T08:00:00+00:00", "2025-03-28T23:00:00+00:00",
     "DST starts Sun 30 Mar: Tue 10:00 CEST"),
    ("europe", "email", "2025-10-24T16:00+02:00", "2025-10-28T09:00:00+00:00", "2025-10-24T22:00:00+00:00",
     "DST ends Sun 26 Oct: Tue 10:00 CET"),
    ("europe", "email", "2025-12-30T16:00+01:00", "2026-01-05T09:00:00+00:00", "2025-12-30T23:00:00+00:00",
     "New Year's Eve and Day closed, Fri 2 Jan open 9 h, Mon 5 Jan 2 h"),
    ("europe", "chat", "2025-05-17T10:00+02:00", "2025-05-20T09:00:00+00:00", "2025-05-17T08:01:00+00:00",
     "Saturday arrival: acknowledgement from Monday 08:00; chat 1 min wall time"),
    ("us", "voice", "2025-03-07T16:00-05:00", "2025-03-10T20:00:00+00:00", "2025-03-07T21:03:00+00:00",
     "US DST starts Sun 9 Mar (EU later): Fri 4 h, Mon 8 h -> Mon 16:00 EDT; call 3 min"),
    ("us", "email", "2025-10-31T16:00-04:00", "2025-11-03T21:00:00+00:00", "2025-11-03T02:00:00+00:00",
     "US DST ends Sun 2 Nov: Fri 4 h + Mon 8 h -> Mon 16:00 EST; email: Fri 4 h to 20:00 EDT, 4 h from Mon 06:00 MYT"),
    ("us", "email", "2025-12-26T19:00-05:00", "2025-12-30T00:00:00+00:00", "2025-12-29T05:00:00+00:00",
     "Friday 19:00 EST: 1 h left in the 24x5 window, 7 h from Mon 06:00 Kuala Lumpur (Sun 22:00 UTC)"),
    ("us", "email", "2025-07-03T12:00-04:00", "2025-07-07T16:00:00+00:00", "2025-07-04T00:00:00+00:00",
     "Independence Day (Fri 4 Jul) closes the US desk (Thu 8 h, Mon 4 h), not the 24x5 window"),
    ("japan", "email", "2026-05-01T16:00+09:00", "2026-05-08T02:00:00+00:00", "2026-05-01T15:00:00+00:00",
     "Golden Week: 4-6 May holidays incl. substitute holiday; Fri 1.5 h, Thu 7 8.5 h, Fri 8 2 h -> 11:00 JST"),
    ("japan", "email", "2025-12-30T17:00+09:00", "2026-01-06T03:00:00+00:00", "2025-12-30T16:00:00+00:00",
     "Bank closures 31 Dec-3 Jan: Tue 0.5 h, Mon 5 Jan 8.5 h, Tue 6 Jan 3 h -> 12:00 JST"),
    ("malaysia", "email", "2027-01-29T15:00+08:00", "2027-02-02T08:00:00+00:00", "2027-01-29T15:00:00+00:00",
     "Federal Territory Day (Mon 1 Feb 2027, KUL): Fri 2 h, Tue 2 Feb 10 h -> 16:00 MYT"),
    ("europe", "email", "2025-05-16T17:00+02:00", "2025-05-20T09:00:00+00:00", "2025-05-16T23:00:00+00:00",
     "arrival exactly at closing counts from Monday's opening: Mon 9 h, Tue 3 h"),
    ("europe", "email", "2025-05-19T08:00+02:00", "2025-05-20T09:00:00+00:00", "2025-05-19T14:00:00+00:00",
     "arrival exactly at opening: 9 h Mon, 3 h Tue"),
]


@pytest.mark.parametrize("region,channel,received,ack,response,why", CASES, ids=[c[5][:40] for c in CASES])
def test_hand_worked_deadlines(regions, region, channel, received, ack, response, why):
    assert due(region, channel, received) == {"acknowledge_due": ack, "response_due": response}


def test_24x5_window_opens_monday_06_kuala_lumpur(regions):
    # Sunday 21:59 UTC = Monday 05:59 MYT: one minute before the window opens.
    assert due("malaysia", "email", "2025-05-18T21:59+00:00")["response_due"] == "2025-05-19T06:00:00+00:00"
    assert due("malaysia", "email", "2025-05-18T22:00+00:00")["response_due"] == "2025-05-19T06:00:00+00:00"


def test_24x5_window_closes_friday_20_new_york_summer_and_winter(regions):
    # Friday 19:59 EDT: 1 minute left, then 7 h 59 min from Monday 06:00 MYT (Sunday 22:00 UTC).
    assert due("us", "email", "2025-05-16T19:59-04:00")["response_due"] == "2025-05-19T05:59:00+00:00"
    assert due("us", "email", "2025-05-16T20:00-04:00")["response_due"] == "2025-05-19T06:00:00+00:00"
    assert due("us", "email", "2025-01-17T19:59-05:00")["response_due"] == "2025-01-20T05:59:00+00:00"


def test_unknown_region_channel_and_naive_time_are_clear_errors(regions):
    with pytest.raises(PolicyError, match="Unknown region mars"):
        due("mars", "email", "2025-05-16T16:00+02:00")
    with pytest.raises(PolicyError, match="No SLA policy"):
        due("europe", "fax", "2025-05-16T16:00+02:00")
    with pytest.raises(PolicyError, match="naive"):
        due("europe", "email", "2025-05-16T16:00")


def test_a_region_without_opening_hours_is_a_clear_error(regions):
    europe = get_region("europe")
    europe.periods.all().delete()
    with pytest.raises(PolicyError, match="open"):
        due("europe", "email", "2025-05-16T16:00+02:00")
