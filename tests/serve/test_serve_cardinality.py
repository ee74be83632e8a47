"""Series caps: exact folding, stickiness, trusted labels kept, counters summed, gauges maxed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from regwatch import catalog
from regwatch.catalog import OTHER_LABEL
from regwatch.serve.cardinality import MAX_LABEL_VALUE_LENGTH, SeriesCap

REPO = catalog.LOG_REPO_FAILURES  # labels: registry, region, repository


def test_under_the_cap_nothing_changes() -> None:
    cap = SeriesCap(3)
    out = cap.apply(REPO, [(("prod", "eu", "a"), 1), (("prod", "eu", "b"), 2)])
    assert out.rows == ((("prod", "eu", "a"), 1.0), (("prod", "eu", "b"), 2.0))
    assert out.folded == 0


def test_over_the_cap_biggest_stay_and_the_rest_fold_per_registry_and_region() -> None:
    cap = SeriesCap(3)
    rows = [
        (("prod", "eu", "a"), 10),
        (("prod", "eu", "b"), 7),
        (("prod", "eu", "c"), 3),
        (("prod", "eu", "d"), 2),
        (("prod", "us", "e"), 1),
    ]
    out = cap.apply(REPO, rows)
    # k=1: a + {eu/__other__, us/__other__} = 3 series; k=2 would need 4.
    assert out.rows == (
        (("prod", "eu", "__other__"), 12.0),
        (("prod", "eu", "a"), 10.0),
        (("prod", "us", "__other__"), 1.0),
    )
    assert out.folded == 4


def test_admitted_series_stay_admitted_when_values_change() -> None:
    cap = SeriesCap(2)
    first = cap.apply(REPO, [(("p", "eu", "a"), 5), (("p", "eu", "b"), 1), (("p", "eu", "c"), 1)])
    assert first.rows == ((("p", "eu", "__other__"), 2.0), (("p", "eu", "a"), 5.0))
    # b and c now dwarf a, but a keeps its own series (no flapping, no counter resets)
    second = cap.apply(REPO, [(("p", "eu", "a"), 6), (("p", "eu", "b"), 100), (("p", "eu", "c"), 90)])
    assert second.rows == ((("p", "eu", "__other__"), 190.0), (("p", "eu", "a"), 6.0))
    assert second.folded == 0  # b and c were folded already: counted once


def test_newly_folded_label_sets_are_counted_once() -> None:
    cap = SeriesCap(2)
    assert cap.apply(REPO, [(("p", "eu", "a"), 3), (("p", "eu", "b"), 2), (("p", "eu", "c"), 1)]).folded == 2
    out = cap.apply(REPO, [(("p", "eu", "a"), 3), (("p", "eu", "b"), 2), (("p", "eu", "c"), 1),
                           (("p", "eu", "d"), 1)])  # fmt: skip
    assert out.folded == 1


def test_gauges_fold_by_maximum_and_counters_by_sum() -> None:
    cap = SeriesCap(1)
    lag = cap.apply(catalog.INGEST_LAG, [(("/a.log",), 100.0), (("/b.log",), 250.0)])
    assert lag.rows == (((OTHER_LABEL,), 250.0),)
    lines = cap.apply(catalog.INGEST_LINES, [(("/a.log", "accepted"), 4), (("/b.log", "accepted"), 6)])
    assert lines.rows == (((OTHER_LABEL, "accepted"), 10.0),)


def test_requests_keep_registry_and_region_and_fold_route_and_code() -> None:
    cap = SeriesCap(2)
    out = cap.apply(
        catalog.LOG_REQUESTS,
        [
            (("p", "eu", "manifest", "200"), 50),
            (("p", "eu", "blob", "200"), 40),
            (("p", "eu", "blob", "404"), 1),
        ],
    )
    assert out.rows == (
        (("p", "eu", "__other__", "__other__"), 41.0),
        (("p", "eu", "manifest", "200"), 50.0),
    )


def test_when_trusted_combinations_alone_exceed_the_cap_everything_folds() -> None:
    cap = SeriesCap(1)
    out = cap.apply(REPO, [(("p", "eu", "a"), 1), (("p", "us", "b"), 2)])
    assert out.rows == (((OTHER_LABEL, OTHER_LABEL, OTHER_LABEL), 3.0),)


def test_huge_label_values_are_never_exported() -> None:
    cap = SeriesCap(10)
    long_name = "x" * (MAX_LABEL_VALUE_LENGTH + 1)
    out = cap.apply(REPO, [(("p", "eu", long_name), 1), (("p", "eu", "ok"), 1)])
    assert out.rows == ((("p", "eu", OTHER_LABEL), 1.0), (("p", "eu", "ok"), 1.0))


def test_duplicate_label_sets_merge() -> None:
    out = SeriesCap(5).apply(REPO, [(("p", "eu", "a"), 1), (("p", "eu", "a"), 2)])
    assert out.rows == ((("p", "eu", "a"), 3.0),)


@settings(max_examples=60, deadline=None)
@given(
    cap=st.integers(min_value=1, max_value=8),
    rows=st.lists(
        st.tuples(st.sampled_from(["eu", "us"]), st.text("abcdef", min_size=1, max_size=3),
                  st.integers(min_value=0, max_value=100)),
        max_size=40,
    ),
)  # fmt: skip
def test_caps_bound_series_and_keep_totals(cap: int, rows: list[tuple[str, str, int]]) -> None:
    capper = SeriesCap(cap)
    out = capper.apply(REPO, [(("p", region, repo), v) for region, repo, v in rows])
    assert len(out.rows) <= cap
    assert sum(v for _, v in out.rows) == sum(v for *_, v in rows)
    assert len({labels for labels, _ in out.rows}) == len(out.rows)
