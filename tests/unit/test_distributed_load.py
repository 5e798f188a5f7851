"""A distributed load's evidence, as pure functions over frames built here: the workers' lines
for one second sum into one, exactly; a busy generator is flagged; a lost worker is a named hole."""

import pandas as pd
import pytest

from core.generators import CPU_LIMIT, GENERATOR_COLUMNS, generator_warning, generators
from core.load_stats import window_stats
from core.verdict import Window
from edge.rundir import TIMELINE_COLUMNS, one_line_a_second
from gameday.coverage import lost_workers
from loadtests.profile import Profile, ProfileError, validated

T0 = 1_800_000_000


def line(t, requests, failures, rt, name="/api/items"):
    return {"t": t, "method": "GET", "name": name, "requests": requests, "failures": failures, "rt_ms": rt}


def test_the_workers_lines_of_a_second_sum_into_one_with_their_histograms():
    worker_1 = [line(T0, 3, 0, {"2.1": 2, "40": 1}), line(T0 + 1, 2, 1, {"2.1": 2})]
    worker_2 = [line(T0, 2, 1, {"2.1": 1, "900": 1}), line(T0, 1, 0, {"5.0": 1}, name="/health")]
    frame = one_line_a_second(pd.DataFrame(worker_1 + worker_2, columns=TIMELINE_COLUMNS))
    assert len(frame) == 3 and list(frame.t) == sorted(frame.t)
    items = frame[(frame.t == T0) & (frame.name == "/api/items")].iloc[0]
    assert (items.requests, items.failures, items.rt_ms) == (5, 1, {"2.1": 3, "40": 1, "900": 1})
    # the quantiles of the merged lines are those of one process that saw every request
    one_process = pd.DataFrame([line(T0, 5, 1, {"2.1": 3, "40": 1, "900": 1}), line(T0 + 1, 2, 1, {"2.1": 2}),
                                line(T0, 1, 0, {"5.0": 1}, name="/health")], columns=TIMELINE_COLUMNS)
    window = Window.from_epoch(T0, T0 + 2)
    for q in (0.5, 0.9, 0.99):
        assert window_stats(frame, window).quantile_s(q) == window_stats(one_process, window).quantile_s(q)


def test_one_process_lines_pass_through_untouched():
    frame = pd.DataFrame([line(T0, 1, 0, {"2": 1}), line(T0 + 1, 1, 0, {"3": 1})], columns=TIMELINE_COLUMNS)
    assert one_line_a_second(frame) is frame


def sample(t, generator, cpu, **extra):
    return {"t": t, "generator": generator, "cpu": cpu, **extra}


def account(rows):
    return pd.DataFrame([{c: r.get(c) for c in GENERATOR_COLUMNS} for r in rows], columns=GENERATOR_COLUMNS)


def test_a_generator_above_the_cpu_limit_is_flagged_and_one_below_is_not():
    rows = [sample(T0 + s, "worker 1", 97.0 if s >= 5 else 40.0) for s in range(10)]
    rows += [sample(T0 + s, "worker 2", 60.0) for s in range(10)] + [sample(T0 + s, "master", 3.0) for s in range(10)]
    gens = {g.name: g for g in generators(account(rows))}
    assert (gens["worker 1"].busy_s, gens["worker 1"].peak_cpu, gens["worker 1"].mean_cpu) == (5, 97.0, 68.5)
    assert not gens["worker 2"].limit and not gens["master"].limit
    warning = generator_warning(list(gens.values()))
    assert warning.startswith("the load generator, not the stack, may be the limit: worker 1 above 85 % CPU for 5 s")
    assert "worker 2" not in warning
    assert generator_warning([gens["worker 2"]]) == ""
    assert CPU_LIMIT == 85.0


def test_a_lost_worker_is_a_hole_from_its_last_report_to_its_loss_inside_the_window():
    rows = [sample(T0 + s, "worker 2", 50.0, state="running") for s in range(8)]
    rows.append({"t": T0 + 12, "generator": "worker 2", "lost": True, "last_report": T0 + 6.5})
    frame = account(rows)
    (hole,) = lost_workers(frame, T0, T0 + 60)
    assert (hole.source, hole.start, hole.end) == ("load", T0 + 6.5, T0 + 12)
    assert "worker 2 of the load was lost; its requests since its last report are unknown" in str(hole)
    assert lost_workers(frame, T0 + 20, T0 + 60) == []   # lost before the window judged: not its hole
    assert lost_workers(None, T0, T0 + 60) == []


def test_workers_is_a_whole_number_of_the_profile():
    assert validated(Profile(workers=2)).workers == 2
    with pytest.raises(ProfileError, match="'workers'"):
        validated(Profile(workers=-1))
