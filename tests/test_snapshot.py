"""Account states and the snapshot store: what a reading or a failure changes, and what it keeps."""

from __future__ import annotations

from decimal import Decimal

from balance_exporter.config.account import AccountConfig
from balance_exporter.metrics.reading import Reading
from balance_exporter.metrics.snapshot import (
    HISTORY,
    UNKNOWN_CURRENCY,
    ZERO,
    AccountState,
    Ledger,
    Money,
    SnapshotStore,
)
from balance_exporter.polling.errors import PollError, Reason

T0 = 1_767_225_600.0


def good(balance: str = "12.50", currency: str | None = "USD") -> Reading:
    return Reading(
        currency=currency,
        balance=Decimal(balance),
        credit_limit=Decimal("100"),
        pending=Decimal("1.25"),
        available_credit=Decimal("111.25"),
        credit_blocked=False,
        provider_updated=T0 - 60.0,
        provider_account_id="acct-1",
    )


def fresh(name: str = "main") -> AccountState:
    return AccountState(name, "telnyx", 300.0)


def config(name: str, provider: str = "telnyx", interval: float = 300.0) -> AccountConfig:
    return AccountConfig(name=name, provider=provider, interval=interval, timeout=15.0)


def test_a_fresh_state_knows_nothing() -> None:
    state = fresh()
    assert state.money is None
    assert state.last_success is None
    assert state.up is None
    assert state.ready is None
    assert state.polls == 0
    assert [state.failure_count(reason) for reason in Reason] == [0] * 7


def test_a_trustworthy_reading_sets_the_money_and_last_success() -> None:
    state = fresh().with_reading(good(), T0, 0.25)
    assert state.money == Money(
        currency="USD",
        balance=Decimal("12.50"),
        credit_limit=Decimal("100"),
        pending=Decimal("1.25"),
        available_credit=Decimal("111.25"),
        credit_blocked=False,
        provider_updated=T0 - 60.0,
    )
    assert state.last_success == T0
    assert (state.up, state.ready, state.degraded) == (True, True, False)
    assert (state.last_poll, state.last_duration, state.polls) == (T0, 0.25, 1)
    assert state.provider_account_id == "acct-1"


def test_a_degraded_reading_keeps_the_last_trustworthy_figures() -> None:
    before = fresh().with_reading(good("12.50"), T0, 0.2)
    degraded = Reading(currency="USD", balance=Decimal("0"), degraded=True, degraded_reason="x")
    after = before.with_reading(degraded, T0 + 300.0, 0.3)
    assert after.money == before.money
    assert after.last_success == T0
    assert (after.up, after.degraded, after.degraded_reason) == (True, True, "x")
    assert (after.last_poll, after.polls) == (T0 + 300.0, 2)


def test_a_degraded_first_reading_exports_no_money() -> None:
    state = fresh().with_reading(
        Reading(currency="USD", balance=Decimal("0"), degraded=True), T0, 0
    )
    assert state.money is None
    assert state.last_success is None
    assert (state.up, state.ready, state.degraded) == (True, True, True)


def test_a_trustworthy_reading_after_a_degraded_one_clears_the_flag() -> None:
    state = fresh().with_reading(Reading(currency="USD", degraded=True), T0, 0.1)
    state = state.with_reading(good("3"), T0 + 60.0, 0.1)
    assert state.degraded is False
    assert state.degraded_reason is None
    assert state.money is not None
    assert state.money.balance == Decimal("3")
    assert state.last_success == T0 + 60.0


def test_an_account_in_setup_has_no_money() -> None:
    state = fresh().with_reading(Reading(ready=False), T0, 0.1)
    assert state.money is None
    assert (state.up, state.ready) == (True, False)
    assert state.last_success is None


def test_a_failure_keeps_the_last_balance_and_counts_its_reason() -> None:
    before = fresh().with_reading(good("12.50"), T0, 0.2)
    failure = PollError(Reason.RATE_LIMITED, "too many requests", status=429, retry_after=30.0)
    after = before.with_failure(failure, T0 + 300.0, 0.05)
    assert after.money == before.money
    assert after.last_success == T0
    assert after.up is False
    assert after.polls == 2
    assert after.failure_count(Reason.RATE_LIMITED) == 1
    assert sum(after.failures) == 1
    assert (after.last_error, after.last_reason) == ("too many requests", Reason.RATE_LIMITED)
    assert (after.last_poll, after.last_duration) == (T0 + 300.0, 0.05)

    recovered = after.with_reading(good("11"), T0 + 600.0, 0.1)
    assert (recovered.up, recovered.last_error, recovered.last_reason) == (True, None, None)
    assert recovered.failure_count(Reason.RATE_LIMITED) == 1  # a counter never goes back


def test_a_reading_without_currency_keeps_the_known_one() -> None:
    state = fresh().with_reading(good("1", "EUR"), T0, 0.1)
    state = state.with_reading(good("2", None), T0 + 1, 0.1)
    assert state.money is not None
    assert state.money.currency == "EUR"
    first = fresh().with_reading(good("2", None), T0, 0.1)
    assert first.money is not None
    assert first.money.currency == UNKNOWN_CURRENCY


def test_the_store_reuses_its_snapshot_until_something_changes() -> None:
    store = SnapshotStore()
    store.set_accounts([config("a"), config("b")])
    first = store.snapshot
    assert store.snapshot is first
    assert [state.name for state in first.accounts] == ["a", "b"]

    store.update("a", lambda state: state.with_reading(good(), T0, 0.1))
    second = store.snapshot
    assert second.generation > first.generation
    assert second.accounts[0].up is True
    assert first.accounts[0].up is None  # snapshots are values: the old one never changes

    store.update("unknown", lambda state: state.with_reading(good(), T0, 0.1))
    assert store.snapshot is second


def test_readiness_waits_for_every_first_attempt() -> None:
    store = SnapshotStore()
    store.set_accounts([config("a"), config("b")])
    assert not store.snapshot.ready
    store.update("a", lambda state: state.with_reading(good(), T0, 0.1))
    assert not store.snapshot.ready
    store.update("b", lambda state: state.with_failure(PollError(Reason.AUTH, "no"), T0, 0.1))
    assert store.snapshot.ready


def test_set_accounts_keeps_staying_accounts_and_drops_removed_ones() -> None:
    store = SnapshotStore()
    store.set_accounts([config("a"), config("b"), config("c")])
    for name in "abc":
        store.update(name, lambda state: state.with_reading(good(), T0, 0.1))

    store.set_accounts([config("a", interval=600.0), config("b", provider="twilio"), config("d")])

    states = {state.name: state for state in store.snapshot.accounts}
    assert sorted(states) == ["a", "b", "d"]
    assert states["a"].polls == 1  # kept, with its new interval
    assert states["a"].interval == 600.0
    assert states["b"].polls == 0  # another provider: a different account altogether
    assert states["b"].provider == "twilio"
    assert states["b"].money is None
    assert states["d"].up is None


def test_reload_state_keeps_the_last_success_time_on_failure() -> None:
    store = SnapshotStore()
    store.set_reload(True, T0)
    store.set_reload(False, T0 + 10.0)
    exporter = store.snapshot.exporter
    assert (exporter.reload_successful, exporter.reload_success_timestamp) == (False, T0)
    store.set_reload(True, T0 + 20.0)
    exporter = store.snapshot.exporter
    assert (exporter.reload_successful, exporter.reload_success_timestamp) == (True, T0 + 20.0)


# --- the spend counters: what the exporter saw between two trustworthy readings ---------------


def balances(
    *figures: str, currency: str = "EUR", start: AccountState | None = None
) -> AccountState:
    """An account after trustworthy readings of these balances, one a minute."""
    state = start or fresh()
    for minute, figure in enumerate(figures):
        reading = Reading(currency=currency, balance=Decimal(figure))
        state = state.with_reading(reading, T0 + 60.0 * minute, 0.1)
    return state


def counters(state: AccountState) -> tuple[str, Decimal, Decimal]:
    assert state.ledger is not None
    return (state.ledger.currency, state.ledger.spent, state.ledger.topped_up)


def test_the_first_trustworthy_reading_starts_both_counters_at_0() -> None:
    assert fresh().ledger is None
    state = balances("80.00")
    assert counters(state) == ("EUR", ZERO, ZERO)
    assert state.ledger == Ledger.start("EUR", False, Decimal("80.00"), T0)


def test_a_decrease_is_spent() -> None:
    assert counters(balances("80.00", "79.25", "70")) == ("EUR", Decimal("10.00"), ZERO)


def test_a_top_up_is_counted_apart_from_the_spending() -> None:
    state = balances("80.00", "60.00", "160.00", "150.50")
    assert counters(state) == ("EUR", Decimal("29.50"), Decimal("100.00"))


def test_a_flat_account_spends_nothing() -> None:
    assert counters(balances("80.00", "80.00", "80.0")) == ("EUR", ZERO, ZERO)


def test_amounts_are_added_exactly() -> None:
    state = balances("1", "0.9", "0.8", "0.7")  # floats would make 0.30000000000000004
    assert counters(state) == ("EUR", Decimal("0.3"), ZERO)
    assert str(state.ledger.spent if state.ledger else "") == "0.3"


def test_polls_that_are_not_trustworthy_leave_the_counters_and_their_reference() -> None:
    state = balances("80.00")
    state = state.with_reading(
        Reading(currency="EUR", balance=Decimal("0"), degraded=True), T0 + 60, 0.1
    )
    state = state.with_failure(PollError(Reason.TIMEOUT, "no answer"), T0 + 120, 5.0)
    state = state.with_reading(Reading(ready=False), T0 + 180, 0.1)
    assert counters(state) == ("EUR", ZERO, ZERO)
    # The next trustworthy figure is compared with the last trustworthy one, 80.
    assert counters(balances("75.00", start=state)) == ("EUR", Decimal("5.00"), ZERO)


def test_a_currency_change_starts_the_counters_afresh_in_the_new_currency() -> None:
    state = balances("80.00", "70.00")
    state = balances("200", "190", currency="USD", start=state)
    assert counters(state) == ("USD", Decimal("10"), ZERO)  # never 80 EUR - 200 USD


def test_a_switch_between_balance_and_available_credit_is_not_counted() -> None:
    state = balances("80.00", "70.00")
    with_credit = Reading(currency="EUR", balance=Decimal("70"), available_credit=Decimal("570"))
    state = state.with_reading(with_credit, T0 + 600, 0.1)
    assert counters(state) == ("EUR", Decimal("10.00"), ZERO)  # not a 500 EUR top-up
    spent = Reading(currency="EUR", balance=Decimal("60"), available_credit=Decimal("560"))
    assert counters(state.with_reading(spent, T0 + 660, 0.1)) == ("EUR", Decimal("20.00"), ZERO)


def test_a_reading_without_a_figure_keeps_the_reference() -> None:
    state = balances("80.00")
    state = state.with_reading(Reading(currency="EUR"), T0 + 60, 0.1)
    assert counters(balances("79", start=state)) == ("EUR", Decimal("1.00"), ZERO)


def test_the_counters_survive_a_reload_that_keeps_the_account() -> None:
    store = SnapshotStore()
    store.set_accounts([config("a"), config("b")])
    for name in "ab":
        for minute, figure in enumerate(["50", "45"]):
            reading = Reading(currency="USD", balance=Decimal(figure))

            def read(
                state: AccountState, reading: Reading = reading, at: float = minute
            ) -> AccountState:
                return state.with_reading(reading, T0 + 60 * at, 0.1)

            store.update(name, read)
    store.set_accounts([config("a", interval=600.0), config("b", provider="twilio")])
    states = {state.name: state for state in store.snapshot.accounts}
    assert counters(states["a"]) == ("USD", Decimal("5"), ZERO)
    assert states["b"].ledger is None  # another provider: another account, counted afresh


def test_the_last_figures_are_kept_bounded_oldest_first() -> None:
    figures = [str(100 - n) for n in range(HISTORY + 10)]
    state = balances(*figures)
    assert state.ledger is not None
    assert list(state.ledger.figures) == [float(f) for f in figures[-HISTORY:]]
    assert len(state.ledger.history) == HISTORY * state.ledger.figures.itemsize
    assert list(balances("1.5").ledger.figures) == [1.5]  # type: ignore[union-attr]


def test_failures_remember_since_when_they_run() -> None:
    state = balances("80.00")
    assert state.failing_since is None
    state = state.with_failure(PollError(Reason.AUTH, "no"), T0 + 60, 0.1, next_poll=T0 + 180)
    state = state.with_failure(PollError(Reason.AUTH, "no"), T0 + 180, 0.1, next_poll=T0 + 420)
    assert (state.failing_since, state.next_poll) == (T0 + 60, T0 + 420)
    state = state.with_reading(good(), T0 + 420, 0.1, next_poll=T0 + 480)
    assert (state.failing_since, state.next_poll) == (None, T0 + 480)
