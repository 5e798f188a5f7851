"""Durability verdicts over write ledgers and read-backs built by hand (core.ledger)."""

import pandas as pd
import pytest

from core.ledger import (ReadBack, acknowledged_writes_lost, failover_time, ledger_frame, ledger_problems,
                         ledger_timeline, reads_frame, rejoin_time, split_brain, stale_reads,
                         unacknowledged_writes_applied)

T0 = 1_800_000_000
OLD, NEW = "10.244.1.5", "10.244.2.7"


def write(id, sent, done=None, outcome="ack", server=None):
    """One write sent `sent` seconds after T0, answered 200 ms later unless told; acked by OLD."""
    server = (OLD if outcome == "ack" else "") if server is None else server
    return {"id": id, "sent": T0 + sent, "done": T0 + (sent + 0.2 if done is None else done), "outcome": outcome,
            "server": server}


def ledger(*records):
    return ledger_frame(list(records))


def read_back(*ids, at=T0 + 10_000):
    return ReadBack(frozenset(ids), at, source="postgres-primary")


UNREACHABLE = ReadBack(None, None, "could not connect to postgres-primary:5432: connection refused", "postgres-primary")
STEADY = ledger(*(write(f"w{i}", i) for i in range(5)))


def failover_ledger(new_server=NEW):
    """Acks on OLD every second until the fault at +10 s (one still in flight then), two writes
    timing out and two refused while no primary answers, then acks by new_server from +14.2 s."""
    return ledger(*(write(f"w{i}", i) for i in range(10)),
                  write("inflight", 9.99, 10.01),
                  write("t10", 10, 15, "unknown"), write("t11", 11, 16, "unknown"),
                  write("e12", 12, 12.1, "error"), write("e13", 13, 13.1, "error"),
                  write("n14", 14, 14.2, server=new_server), write("n15", 15, server=new_server))


def roles(samples):
    """samples: [(seconds after T0, {pod: role})]"""
    return pd.DataFrame([{"t": T0 + s, "pod": pod, "role": role} for s, pods in samples for pod, role in pods.items()])


def test_a_ledger_has_its_columns_and_dtypes_even_empty():
    empty = ledger()
    assert list(empty.columns) == ["id", "sent", "done", "outcome", "server", "cached"] and empty.empty
    assert ledger_problems(empty) == [] and ledger_problems(STEADY) == []
    assert str(STEADY.sent.dtype) == "float64" and STEADY.server.iloc[0] == OLD
    assert ledger(write("e", 0, outcome="error")).server.iloc[0] == ""


def test_a_ledger_missing_columns_or_with_an_unknown_outcome_has_problems():
    assert ledger_problems(STEADY.drop(columns=["done", "server"])) == ["missing column(s): done, server"]
    problems = ledger_problems(ledger(write("a", 0), write("b", 1, outcome="timeout")))
    assert problems == ["unknown outcome(s) 'timeout': expected ack, error, unknown"]


def test_an_id_collision_makes_every_verdict_inconclusive_naming_the_id():
    twins = ledger(write("w1", 0), write("w1", 1), write("w2", 2, server=NEW))
    everything = read_back("w1", "w2")
    verdicts = [acknowledged_writes_lost(twins, everything), unacknowledged_writes_applied(twins, everything),
                failover_time(twins, T0 + 1.5, 30)]
    for v in verdicts:
        assert v.status == "inconclusive", v.check
        assert "id collision: 1 id(s) written more than once (w1)" in v.reason, v.check


def test_a_collision_of_many_ids_names_five_and_counts_them_all():
    twins = ledger(*(write(f"w{i}", i) for i in range(7)), *(write(f"w{i}", i + 10) for i in range(7)))
    assert ledger_problems(twins) == ["id collision: 7 id(s) written more than once "
                                      "(w0, w1, w2, w3, w4 … and 2 more)"]


def test_every_acknowledged_write_read_back_passes():
    records = [write(f"w{i}", i) for i in range(4210)] + [write("e", 5000, outcome="error")]
    v = acknowledged_writes_lost(ledger(*records), read_back(*(f"w{i}" for i in range(4210))))
    assert v.status == "pass" and v.observed == "all 4,210 acknowledged writes found"
    assert (v.details["attempted"], v.details["acknowledged"], v.details["lost"]) == (4211, 4210, 0)
    assert v.subject == "postgres-primary" and v.details["lost_ids"] == []


def test_lost_acknowledged_writes_fail_and_are_listed_exactly():
    v = acknowledged_writes_lost(STEADY, read_back("w0", "w2", "w4"))
    assert v.status == "fail" and v.details["lost_ids"] == ["w1", "w3"] and v.details["lost"] == 2
    assert v.observed == "2 of 5 acknowledged writes lost: w1, w3"
    assert v.reason == "acknowledged between +1.2 s and +3.2 s, absent from the read-back: w1, w3"


def test_many_lost_writes_are_all_in_the_details_and_twenty_in_the_text():
    many = ledger(*(write(f"w{i:02}", i) for i in range(25)))
    v = acknowledged_writes_lost(many, read_back())
    assert v.status == "fail" and v.details["lost_ids"] == [f"w{i:02}" for i in range(25)]
    assert v.observed.endswith("w18, w19 … and 5 more") and "w20" not in v.observed


def test_an_unreachable_read_back_is_inconclusive_never_pass():
    v = acknowledged_writes_lost(STEADY, UNREACHABLE)
    assert v.status == "inconclusive" and "no read-back" in v.reason
    assert "could not connect to postgres-primary:5432: connection refused" in v.reason
    assert unacknowledged_writes_applied(STEADY, UNREACHABLE).status == "inconclusive"


def test_nothing_acknowledged_is_nothing_to_judge():
    refused = ledger(write("e0", 0, outcome="error"), write("u1", 1, outcome="unknown"))
    v = acknowledged_writes_lost(refused, read_back())
    assert v.status == "inconclusive" and "no acknowledged write" in v.reason
    assert acknowledged_writes_lost(ledger(), read_back()).status == "inconclusive"


def test_a_write_acknowledged_after_the_read_back_is_not_counted_lost():
    v = acknowledged_writes_lost(STEADY, read_back("w0", "w1", "w2", at=T0 + 3))
    assert v.status == "pass" and v.details["acknowledged"] == 3 and v.details["acknowledged_after_read_back"] == 2


def test_writes_lost_in_a_tolerated_window_are_counted_and_named_not_failed():
    window = (T0 + 1, T0 + 3)     # acked at +0.2, +1.2, +2.2, +3.2, +4.2
    v = acknowledged_writes_lost(STEADY, read_back("w0", "w3", "w4"), tolerated=window)
    assert v.status == "pass" and v.details["lost"] == 0 and v.details["lost_tolerated_ids"] == ["w1", "w2"]
    assert "2 lost in the tolerated window" in v.observed and "w1, w2" in v.observed
    v = acknowledged_writes_lost(STEADY, read_back("w0", "w3"), tolerated=window)
    assert v.status == "fail" and v.details["lost_ids"] == ["w4"] and v.details["lost_tolerated"] == 2


def test_unacknowledged_writes_applied_are_reported_and_a_refused_one_is_flagged():
    mixed = ledger(write("a", 0), write("u1", 1, outcome="unknown"), write("u2", 2, outcome="unknown"),
                   write("e3", 3, outcome="error"))
    normal = unacknowledged_writes_applied(mixed, read_back("a", "u1"))
    assert normal.status == "pass" and normal.details["applied_ids"] == ["u1"] and normal.reason == ""
    assert normal.observed == "1 of 3 unacknowledged writes applied (0 refused, 1 unknown)"
    odd = unacknowledged_writes_applied(mixed, read_back("a", "u1", "e3"))
    assert odd.status == "pass" and (odd.details["unacknowledged"], odd.details["applied"]) == (3, 2)
    assert odd.reason == "surprising: 1 write(s) the database refused were applied: e3"


def test_failover_time_runs_from_the_fault_to_the_first_ack_on_another_server():
    v = failover_time(failover_ledger(), T0 + 10, within_s=30)
    assert v.status == "pass" and round(v.details["failover_s"], 3) == 4.2
    assert (v.details["old_server"], v.details["new_server"]) == (OLD, NEW)
    assert v.details["writes_refused_meanwhile"] == 4
    assert v.observed.startswith(f"4.2 s: first ack on {NEW} at +14.2 s, fault at +10.0 s")


def test_failover_time_names_the_members_and_says_when_the_same_one_came_back():
    other = failover_time(failover_ledger(), T0 + 10, within_s=30, members={OLD: "pg-0", NEW: "pg-1"})
    assert "first ack on pg-1 (10.244.2.7)" in other.observed and "old primary pg-0 (10.244.1.5)" in other.observed
    assert other.details["same_member"] is False and "restarted" not in other.observed
    back = failover_time(failover_ledger(), T0 + 10, within_s=30, members={OLD: "pg-0", NEW: "pg-0"})
    assert back.status == "pass" and back.details["same_member"] is True
    assert "the same member back, restarted" in back.observed


def test_a_failover_slower_than_allowed_fails():
    v = failover_time(failover_ledger(), T0 + 10, within_s=3)
    assert v.status == "fail" and v.reason == "failover took 4.2 s > 3 s"


def test_acks_continuing_on_the_same_server_are_no_failover_to_time():
    v = failover_time(failover_ledger(new_server=OLD), T0 + 10, within_s=30)
    assert v.status == "inconclusive" and "no failover happened" in v.reason
    assert f"acknowledged by {OLD} after the fault, the last at +15.2 s" in v.reason


def test_no_new_primary_while_the_writer_kept_trying_past_the_bound_fails():
    down = ledger(*(write(f"w{i}", i) for i in range(10)), *(write(f"t{i}", i, i + 5, "unknown") for i in range(10, 45)))
    v = failover_time(down, T0 + 10, within_s=30)
    assert v.status == "fail" and v.details["new_server"] == "" and v.details["writes_refused_meanwhile"] == 35
    assert v.reason == f"no new primary acknowledged a write within 30 s (last ack on {OLD} at +9.2 s)"


def test_failover_time_needs_an_old_primary_and_a_new_one_or_long_enough_a_try():
    down = ledger(*(write(f"w{i}", i) for i in range(10)), write("t10", 10, 15, "unknown"))
    v = failover_time(down, T0 + 10, within_s=30)
    assert v.status == "inconclusive"
    assert "no acknowledged write on a new primary after the fault, and the writes stopped before 30 s" in v.reason
    late = failover_time(failover_ledger(), T0 - 5, within_s=30)
    assert late.status == "inconclusive" and "no acknowledged write before the fault" in late.reason


def read(id, acked, visible_after=0.01, reads=1, waited=None, error=""):
    """An order acked `acked` s after T0, read from the replicas 5 ms later; shown visible_after s
    after the ack (None: never, the client waited `waited` s); error: the reads reached no replica."""
    last = acked + (visible_after if visible_after is not None else waited)
    return {"id": id, "acked": T0 + acked, "first": T0 + acked + 0.005, "last": T0 + last,
            "visible": None if visible_after is None or error else T0 + last, "reads": reads, "error": error}


def test_replicas_that_show_each_order_at_the_first_read_pass_with_no_stale_read():
    v = stale_reads(reads_frame([read(f"w{i}", i) for i in range(4)]), max_lag_s=1)
    assert v.status == "pass" and v.details["stale"] == 0 and v.details["reads"] == 4
    assert v.details["max_lag_s"] == pytest.approx(0.01)


def test_an_order_seen_late_is_a_stale_read_and_past_the_bound_fails_naming_it():
    frame = reads_frame([read("w0", 0), read("w1", 1, visible_after=0.4, reads=5), read("w2", 2, 2.5, reads=30)])
    assert stale_reads(frame, max_lag_s=3).status == "pass"
    v = stale_reads(frame, max_lag_s=1)
    assert v.status == "fail" and v.details["stale"] == 2 and v.details["max_lag_s"] == pytest.approx(2.5)
    assert "w2" in v.observed and "2.50 s" in v.observed


def test_an_order_never_seen_counts_with_the_time_the_client_waited():
    v = stale_reads(reads_frame([read("w0", 0), read("gone", 1, visible_after=None, reads=90, waited=5)]), 2)
    assert v.status == "fail" and v.details["never_shown"] == 1 and "never shown" in v.observed
    assert v.details["max_lag_s"] == pytest.approx(5)


def test_reads_that_reached_no_replica_are_counted_and_alone_are_inconclusive():
    unreachable = read("w1", 1, visible_after=None, waited=0.01, error="503 postgres-replica: ConnectionRefusedError")
    v = stale_reads(reads_frame([read("w0", 0), unreachable]), 1)
    assert v.status == "pass" and v.details["errors"] == 1 and "1 reached no replica" in v.observed
    v = stale_reads(reads_frame([unreachable]), 1)
    assert v.status == "inconclusive" and "ConnectionRefusedError" in v.reason
    assert stale_reads(reads_frame([]), 1).status == "inconclusive"


def test_two_leaders_for_three_samples_is_split_brain_with_its_longest_run():
    one, two = {"db-0": "master", "db-1": "replica"}, {"db-0": "master", "db-1": "master"}
    v = split_brain(roles([(0, one), (1, one), (2, two), (3, two), (4.5, two), (5.5, one)]))
    assert v.status == "fail" and v.details["instants"] == 3 and v.details["longest_s"] == 2.5
    assert v.details["first_at"] == T0 + 2 and v.details["pods"] == ["db-0", "db-1"]
    assert v.observed.startswith("2 ready pods labelled master at +2.0 s (db-0, db-1)")


def test_a_leader_label_left_on_a_pod_that_is_not_ready_is_stale_not_split_brain():
    """The old leader's node died: nobody takes its label away, but it routes nothing."""
    samples = pd.DataFrame([{"t": T0 + t, "pod": pod, "role": role, "ready": ready} for t, pods in [
        (0, {"db-0": ("master", True), "db-1": ("replica", True)}),
        (1, {"db-0": ("master", False), "db-1": ("replica", True)}),
        (2, {"db-0": ("master", False), "db-1": ("master", True)})] for pod, (role, ready) in pods.items()])
    v = split_brain(samples)
    assert v.status == "pass" and v.details["stale_instants"] == 2 and v.details["stale_pods"] == ["db-0"]
    assert "db-0 labelled master while not ready in 2 instant(s), not counted" in v.observed
    samples.loc[samples.t == T0 + 2, "ready"] = True           # both ready and labelled: split brain
    assert split_brain(samples).status == "fail"


def test_leaders_overlapping_at_one_instant_are_split_brain_too():
    handover = [(0, {"db-0": "master", "db-1": ""}), (1, {"db-0": "master", "db-1": "master"}),
                (2, {"db-0": "", "db-1": "master"}), (3, {"db-2": "master", "db-1": "master", "db-0": "master"})]
    v = split_brain(roles(handover[:3]))
    assert v.status == "fail" and v.details["instants"] == 1 and v.details["longest_s"] == 0.0
    assert v.details["first_at"] == T0 + 1
    worse = split_brain(roles(handover))
    assert worse.details["instants"] == 2 and worse.details["pods"] == ["db-0", "db-1", "db-2"]
    assert worse.details["longest_s"] == 0.0  # +1 s and +3 s are not consecutive samples


def test_one_leader_at_a_time_passes_and_no_leader_at_all_is_inconclusive():
    v = split_brain(roles([(0, {"db-0": "leader", "db-1": ""}), (1, {"db-0": "", "db-1": ""}),
                           (2, {"db-0": "", "db-1": "leader"})]), leader_role="leader")
    assert v.status == "pass" and v.details["leaderless"] == 1 and v.details["longest_s"] == 0.0
    assert "(leader: db-0, db-1)" in v.observed
    blind = split_brain(roles([(0, {"db-0": "replica"}), (1, {"db-0": ""})]))
    assert blind.status == "inconclusive" and "no leader seen: the sampler saw nothing to compare" in blind.reason
    assert split_brain(pd.DataFrame(columns=["t", "pod", "role"])).status == "inconclusive"


def member(samples):
    """samples: [(seconds after T0, {pod: (role, ready)})]: the sampler's role lines"""
    return pd.DataFrame([{"t": T0 + s, "pod": pod, "role": role, "ready": ready}
                         for s, pods in samples for pod, (role, ready) in pods.items()])


LEADER = {"pg-0": ("master", True)}


def test_rejoin_time_runs_from_the_fault_to_the_pod_ready_again_after_it_was_seen_gone():
    samples = member([(9, {**LEADER, "pg-1": ("replica", True)}), (10, {**LEADER, "pg-1": ("replica", True)}),
                      (11, LEADER), (12, {**LEADER, "pg-1": ("", False)}), (13, {**LEADER, "pg-1": ("replica", False)}),
                      (14.5, {**LEADER, "pg-1": ("replica", True)})])
    v = rejoin_time(samples, "pg-1", T0 + 10.2, within_s=30)
    assert v.status == "pass" and v.details["rejoin_s"] == pytest.approx(4.3) and v.details["role"] == "replica"
    assert rejoin_time(samples, "pg-1", T0 + 10.2, within_s=3).status == "fail"


def test_a_pod_not_back_fails_once_the_bound_has_passed_and_never_seen_gone_is_inconclusive():
    gone = member([(s, LEADER) for s in range(10, 45)])
    v = rejoin_time(gone, "pg-1", T0 + 10, within_s=30)
    assert v.status == "fail" and "not back in 34.0 s" in v.observed
    assert rejoin_time(gone, "pg-1", T0 + 10, within_s=60).status == "inconclusive"
    always = member([(s, {**LEADER, "pg-1": ("replica", True)}) for s in range(10, 45)])
    assert "never seen gone" in rejoin_time(always, "pg-1", T0 + 10, within_s=30).reason


def test_ledger_timeline_counts_writes_per_bin():
    writes = ledger(write("w1", 0.2, 0.4), write("w2", 0.5, 1.1), write("u3", 1.3, 3.5, "unknown"),
                    write("e4", 1.6, 1.9, "error"))
    timeline = ledger_timeline(writes, read_back("w1"))
    assert timeline.t.tolist() == [T0, T0 + 1, T0 + 2, T0 + 3]
    assert timeline.attempted.tolist() == [2, 2, 0, 0] and timeline.acknowledged.tolist() == [1, 1, 0, 0]
    assert timeline.refused.tolist() == [0, 1, 0, 0] and timeline.unknown.tolist() == [0, 0, 0, 1]
    assert timeline.lost.tolist() == [0, 1, 0, 0]
    assert ledger_timeline(writes, UNREACHABLE).lost.sum() == 0 and ledger_timeline(writes).lost.sum() == 0
    wide = ledger_timeline(writes, bin_s=2.0)
    assert wide.t.tolist() == [T0, T0 + 2] and wide.attempted.tolist() == [4, 0] and wide.unknown.tolist() == [0, 1]


def test_an_empty_ledger_has_an_empty_timeline_with_its_columns():
    timeline = ledger_timeline(ledger())
    assert timeline.empty and list(timeline.columns) == ["t", "attempted", "acknowledged", "refused", "unknown", "lost"]


def test_the_writer_records_only_what_the_core_api_vouches_for_as_acknowledged_or_refused():
    from core.ledger import outcome_of
    assert outcome_of(201) == "ack"
    assert [outcome_of(s) for s in (400, 404, 409, 503)] == ["error"] * 4   # certainly not applied
    assert [outcome_of(s) for s in (0, 500, 502, 504)] == ["unknown"] * 4   # no answer, or no word on it
