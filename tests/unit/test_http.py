"""The one HTTP layer: retry policy, Retry-After in plain words, per-service quota pacing.

A scripted session stands in for the network: each request takes the next scripted answer (an
HTTP status with headers, or an exception) and is recorded. Sleeps go to a fake clock.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest
import requests

from geo._http import HttpClient
from geo._pacing import ORS_PUBLIC_QUOTA_PER_MIN, shared_quota
from geo._retry import GaveUp, RetryPolicy, Transient, call_with_retries, plain_wait
from geo.errors import NetworkError, RateLimitError
from geo.geocode import Geocoder
from geo.routing.ors_connection import OrsConnection
from geo.settings import Settings

Answer = int | tuple[int, dict[str, str]] | BaseException


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class ScriptedSession(requests.Session):
    """Answers requests from a script; the last answer repeats."""

    def __init__(self, answers: Iterable[Answer], time: FakeTime | None = None) -> None:
        super().__init__()
        self.answers = list(answers)
        self.sent_at: list[float] = []
        self.time = time

    def request(
        self, method: str | bytes, url: str | bytes, *a: object, **k: object
    ) -> requests.Response:
        self.sent_at.append(self.time.now if self.time else 0.0)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        response = requests.Response()
        response.status_code = status
        response.headers.update(headers)
        response._content = b'{"ok": true}'
        response.url = str(url)
        return response


def client(answers: Iterable[Answer], fake: FakeTime, **kwargs: object) -> HttpClient:
    kwargs.setdefault("rng", lambda: 1.0)  # no jitter: delays 1, 2, 4 ... s
    return HttpClient(
        "Test service",
        session=ScriptedSession(answers, fake),
        sleep=fake.sleep,
        clock=fake.clock,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1, "1 second"),
        (40, "40 seconds"),
        (89, "89 seconds"),
        (90, "2 minutes"),
        (120, "2 minutes"),
        (3540, "59 minutes"),
        (3600, "about 1 hour"),
        (5400, "about 1.5 hours"),
        (86400, "about 24 hours"),
    ],
)
def test_plain_wait(seconds: float, words: str) -> None:
    assert plain_wait(seconds) == words


def test_retry_after_of_an_hour_is_reported_as_an_hour_without_waiting() -> None:
    fake = FakeTime()
    http = client([(429, {"Retry-After": "3600"})], fake)
    with pytest.raises(RateLimitError) as err:
        http.get_json("http://test.invalid/x?address=secret")
    text = str(err.value)
    assert "asked to wait about 1 hour" in text
    assert "minute" not in text  # issue 12: it used to say "wait a minute"
    assert "secret" not in text
    assert fake.sleeps == []  # nobody waits an hour inside a command
    assert len(http.session.sent_at) == 1  # type: ignore[attr-defined]


def test_short_retry_after_is_honoured_then_the_answer_is_used() -> None:
    fake = FakeTime()
    http = client([(503, {"Retry-After": "7"}), 200], fake)
    assert http.get_json("http://test.invalid/x") == {"ok": True}
    assert fake.sleeps == [7.0]


def test_backoff_doubles_and_gives_up_with_the_count() -> None:
    fake = FakeTime()
    http = client([503], fake, retries=2)
    with pytest.raises(NetworkError, match="HTTP 503 after 3 tries") as err:
        http.get_json("http://test.invalid/x")
    assert not isinstance(err.value, RateLimitError)
    assert fake.sleeps == [1.0, 2.0]


def test_persistent_429_without_retry_after_says_wait_a_minute() -> None:
    fake = FakeTime()
    http = client([429], fake, retries=1)
    with pytest.raises(RateLimitError, match=r"kept answering 429 .* after 2 tries; wait a minute"):
        http.get_json("http://test.invalid/x")


def test_jitter_stays_within_half_to_full_backoff() -> None:
    import random

    fake = FakeTime()
    http = client([500, 500, 500, 200], fake, rng=random.Random(3).random)
    http.get_json("http://test.invalid/x")
    assert len(fake.sleeps) == 3
    for attempt, delay in enumerate(fake.sleeps):
        assert 0.5 * 2**attempt <= delay <= 2**attempt


def test_time_budget_stops_before_a_wait_that_would_exceed_it() -> None:
    fake = FakeTime()
    http = client([requests.ConnectionError()], fake, retries=10, max_total_s=3.5)
    with pytest.raises(NetworkError) as err:
        http.get_json("http://test.invalid/x")
    # waits 1 + 2 = 3 s; the next (4 s) would pass 3.5 s
    assert fake.sleeps == [1.0, 2.0]
    assert "could not connect (ConnectionError) (the next retry would wait 4 seconds)" in str(
        err.value
    )
    assert "after 3 tries" in str(err.value)


def test_a_try_that_made_progress_does_not_count_against_the_retries() -> None:
    fake = FakeTime()
    outcomes: list[Transient | str] = [Transient("drop", progressed=True) for _ in range(5)]
    outcomes += [Transient("drop"), "done"]

    def attempt() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Transient):
            raise outcome
        return outcome

    policy = RetryPolicy(retries=1, backoff_s=1.0)
    assert call_with_retries(attempt, policy, sleep=fake.sleep, clock=fake.clock) == "done"
    assert len(fake.sleeps) == 6

    def always_fails() -> str:
        raise Transient("HTTP 503", status=503)

    with pytest.raises(GaveUp) as err:
        call_with_retries(always_fails, policy, sleep=fake.sleep, clock=fake.clock)
    assert err.value.tries == 2


def test_retries_are_paced_by_the_service_quota() -> None:
    fake = FakeTime()
    quota = shared_quota("http://paced.invalid", "k", {"geocode": 2}, fake.clock, fake.sleep)
    http = client([503, 503, 200], fake, pacer=quota)
    http.get_json("http://paced.invalid/geocode", endpoint="geocode")
    session = http.session
    assert isinstance(session, ScriptedSession)
    # two tries in the first minute, the third waits for the window: 60 s after the first
    assert session.sent_at == [1000.0, 1001.0, 1060.0]


def test_ors_geocoder_and_ors_engine_share_the_keys_quota() -> None:
    settings = Settings(
        geocoder="ors", ors_api_key="key-for-test", ors_base_url="https://api.openrouteservice.org"
    )
    geocoder_http = Geocoder(settings)._client()
    connection = OrsConnection(settings)
    assert geocoder_http.pacer is connection.pacer
    assert connection.pacer.per_minute == dict(ORS_PUBLIC_QUOTA_PER_MIN)
    other_key = Geocoder(settings.with_(ors_api_key="another-key"))._client()
    assert other_key.pacer is not connection.pacer


def test_ors_connection_reports_a_long_retry_after_in_plain_words() -> None:
    fake = FakeTime()
    settings = Settings(ors_api_key=None, ors_base_url="http://ors.invalid")
    connection = OrsConnection(
        settings,
        session=ScriptedSession([(429, {"Retry-After": "3600"})], fake),
        sleep=fake.sleep,
        clock=fake.clock,
    )
    with pytest.raises(RateLimitError, match="asked to wait about 1 hour") as err:
        connection.send("/v2/matrix/driving-car/json", body={"locations": []})
    assert "use --engine valhalla" in str(err.value)
    assert fake.sleeps == []


def test_progress_renews_the_time_budget() -> None:
    """A download that streamed for longer than the budget and then dropped is resumed."""
    fake = FakeTime()
    tries: list[float] = []

    def attempt() -> str:
        tries.append(fake.now)
        if len(tries) < 3:
            fake.now += 1000.0  # streamed bytes for 1000 s, then the connection dropped
            raise Transient("connection dropped", progressed=True)
        return "complete"

    policy = RetryPolicy(retries=0, backoff_s=1.0, max_total_s=120.0)
    assert call_with_retries(attempt, policy, sleep=fake.sleep, clock=fake.clock) == "complete"
    assert len(tries) == 3


def test_a_short_retry_after_past_the_budget_is_not_called_a_long_wait() -> None:
    fake = FakeTime()
    http = client([(503, {"Retry-After": "30"})], fake, retries=10, max_total_s=50.0)
    with pytest.raises(NetworkError) as err:
        http.get_json("http://test.invalid/x")
    assert fake.sleeps == [30.0]  # the second 30-s wait would pass the 50-s budget
    assert "asked to wait" not in str(err.value)
    assert "HTTP 503 (the next retry would wait 30 seconds) after 2 tries" in str(err.value)
