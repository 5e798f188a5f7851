"""Durability verdicts over a write ledger: the client's record of every write its load sent to a
database during a game day, judged against a read-back of the database after recovery. Pure
functions over frames: the load generator and the read-back happened at the edge.

A ledger is a frame, one row a write:
    id        str    unique per write
    sent      float  unix seconds
    done      float  unix seconds: when the client got its answer or gave up
    outcome   str    ack (committed) | error (refused) | unknown (timeout, connection lost: may have applied)
    server    str    which database server acknowledged it (a pod IP); "" when not acked
    cached    bool   the cache took it too (a cache that fails costs the cache, not the write)

Reads, one row an acknowledged order read from the replicas until they showed it:
    id        str    the order's id
    acked     float  when its write was acknowledged (unix seconds)
    first     float  when the first read was sent
    last      float  when the last read was answered
    visible   float  when a read found it; NaN: none did (gave up, or error)
    reads     int    reads made
    error     str    why a read reached no replica ("" when every one did)

A ledger with problems (ledger_problems) makes every verdict inconclusive: a collision of ids
would hide a lost write behind its twin, and an outcome we cannot read we cannot judge.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.verdict import Verdict, Window, inconclusive, judged

ACK, ERROR, UNKNOWN = "ack", "error", "unknown"
OUTCOMES = (ACK, ERROR, UNKNOWN)
COLUMNS = ("id", "sent", "done", "outcome", "server", "cached")
DTYPES = {"id": str, "sent": float, "done": float, "outcome": str, "server": str, "cached": bool}
READ_COLUMNS = ("id", "acked", "first", "last", "visible", "reads", "error")
READ_DTYPES = {"id": str, "acked": float, "first": float, "last": float, "visible": float, "reads": int, "error": str}
TIMELINE = ("t", "attempted", "acknowledged", "refused", "unknown", "lost")
NAMED = 20             # lost ids named in a verdict's text; its details list them all
NAMED_COLLISIONS = 5


# what the core API's answers to a write say (service/orders.py): 201 committed; these, that it
# certainly did not apply (refused, or no such route); anything else, 0 (no answer) included, unknown
REFUSED_STATUSES = frozenset({400, 404, 405, 409, 503})


def outcome_of(status: int) -> str:
    return ACK if status == 201 else ERROR if status in REFUSED_STATUSES else UNKNOWN


@dataclass(frozen=True)
class ReadBack:
    found: frozenset[str] | None    # write ids present after recovery; None: the read-back could not be done
    at: float | None                # unix seconds it read at: a write acked later cannot be expected in it
    error: str = ""                 # why there is no read-back
    source: str = ""                # where it read: postgres-primary


def ledger_frame(records: list[dict]) -> pd.DataFrame:
    """The ledger of records ({id, sent, done, outcome, server, cached}), with its dtypes even when
    empty; a record without `cached` was not cached."""
    frame = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    return frame.assign(server=frame.server.fillna(""), cached=frame.cached.eq(True)).astype(DTYPES)


def cache_ledger(ledger: pd.DataFrame) -> pd.DataFrame:
    """The ledger as the cache saw it: acknowledged = the cache took it; the rest refused."""
    return ledger.assign(outcome=np.where(ledger.cached & (ledger.outcome == ACK), ACK, ERROR),
                         server=np.where(ledger.cached & (ledger.outcome == ACK), ledger.server, ""))


def reads_frame(records: list[dict]) -> pd.DataFrame:
    """The replica reads of records (loadtests/ledger.py's reads.jsonl), with their dtypes even when empty."""
    frame = pd.DataFrame.from_records(records, columns=list(READ_COLUMNS))
    return frame.assign(error=frame.error.fillna(""), visible=frame.visible.astype(float)).astype(READ_DTYPES)


def ledger_problems(ledger: pd.DataFrame) -> list[str]:
    """What makes the ledger unfit to judge, in words; [] when it is fit."""
    missing = [c for c in COLUMNS if c not in ledger.columns]
    if missing:
        return [f"missing column(s): {', '.join(missing)}"]
    problems = []
    twins = ledger.id[ledger.id.duplicated()].unique().tolist()
    if twins:
        problems.append(f"id collision: {len(twins):,} id(s) written more than once "
                        f"({_named(twins, NAMED_COLLISIONS)})")
    odd = sorted({str(o) for o in ledger.outcome if o not in OUTCOMES})
    if odd:
        problems.append(f"unknown outcome(s) {', '.join(map(repr, odd))}: expected {', '.join(OUTCOMES)}")
    return problems


def _named(ids: list[str], limit: int = NAMED) -> str:
    return ", ".join(ids[:limit]) + (f" … and {len(ids) - limit:,} more" if len(ids) > limit else "")


def _at(ledger: pd.DataFrame, t: float) -> str:
    """A time as seconds from the ledger's first write."""
    return f"+{t - ledger.sent.min():.1f} s"


def _unusable(ledger: pd.DataFrame, readback: ReadBack | None = None) -> str:
    """Why the ledger (and the read-back, when one is needed) cannot be judged; '' when they can."""
    if problems := ledger_problems(ledger):
        return "ledger unusable: " + "; ".join(problems)
    if readback is not None and readback.found is None:
        where = f" of {readback.source}" if readback.source else ""
        return f"no read-back{where}: {readback.error or 'no reason given'}"
    return ""


def _acks(ledger: pd.DataFrame) -> pd.DataFrame:
    return ledger[ledger.outcome == ACK].sort_values("done", kind="stable")


def _judgeable_acks(ledger: pd.DataFrame, readback: ReadBack) -> pd.DataFrame:
    """Acks the read-back can be expected to hold: those answered before it read."""
    acks = _acks(ledger)
    return acks if readback.at is None else acks[acks.done <= readback.at]


def _lost(ledger: pd.DataFrame, readback: ReadBack | None) -> pd.DataFrame:
    if readback is None or readback.found is None:
        return ledger.iloc[:0]
    acks = _judgeable_acks(ledger, readback)
    return acks[~acks.id.isin(readback.found)]


def _evidence(ledger: pd.DataFrame, readback: ReadBack) -> dict:
    counts = ledger.outcome.value_counts()
    return {"outcomes": {o: int(counts.get(o, 0)) for o in OUTCOMES},
            "read_back": {"source": readback.source, "at": readback.at, "found": len(readback.found)}}


def acknowledged_writes_lost(ledger: pd.DataFrame, readback: ReadBack, window: Window | None = None,
                             tolerated: tuple[float, float] | None = None) -> Verdict:
    """fail: a write the database acknowledged is not in the read-back after recovery (a write
    acknowledged after the read-back was taken is not judged: it is counted apart). tolerated:
    (from, to) unix seconds in which a store documents it may lose acknowledged writes (Redis
    Cluster: a cut-off master's node timeout); those lost are counted and named, not failed."""
    check, subject, expected = "acknowledged_writes_lost", readback.source, "every acknowledged write read back"
    if tolerated is not None:
        expected += f" (but those acknowledged in the {tolerated[1] - tolerated[0]:.1f} s from the fault)"
    if why := _unusable(ledger, readback):
        return inconclusive(check, expected, why, window, subject=subject)
    acks = _judgeable_acks(ledger, readback)
    later = int((ledger.outcome == ACK).sum()) - len(acks)
    if acks.empty:
        return inconclusive(check, expected, "no acknowledged write to judge" +
                            (f" ({later:,} acknowledged after the read-back)" if later else ""), window,
                            _evidence(ledger, readback), subject=subject)
    lost, evidence = _lost(ledger, readback), _evidence(ledger, readback)
    in_window = lost.done.between(*tolerated) if tolerated is not None else pd.Series(False, lost.index)
    excused, lost = lost[in_window], lost[~in_window]
    lost_ids, excused_ids = lost.id.tolist(), excused.id.tolist()
    details = {"attempted": len(ledger), "acknowledged": len(acks), "lost": len(lost_ids), "lost_ids": lost_ids,
               "acknowledged_after_read_back": later, "lost_tolerated": len(excused_ids),
               "lost_tolerated_ids": excused_ids}
    aside = (f"; {len(excused_ids):,} lost in the tolerated window, acknowledged "
             f"{_at(ledger, excused.done.min())} to {_at(ledger, excused.done.max())}: {_named(excused_ids, 5)}"
             if excused_ids else "")
    if not lost_ids:
        return judged(check, True, expected, f"all {len(acks) - len(excused_ids):,} acknowledged writes found "
                      f"(of {len(acks):,}){aside}" if excused_ids else f"all {len(acks):,} acknowledged writes found",
                      window, evidence, subject=subject, **details)
    return judged(check, False, expected, f"{len(lost_ids):,} of {len(acks):,} acknowledged writes lost: "
                  f"{_named(lost_ids)}{aside}", window, evidence,
                  f"acknowledged between {_at(ledger, lost.done.min())} and {_at(ledger, lost.done.max())}, "
                  f"absent from the read-back: {_named(lost_ids)}", subject=subject, **details)


def unacknowledged_writes_applied(ledger: pd.DataFrame, readback: ReadBack, window: Window | None = None) -> Verdict:
    """Reported, never failed: how many writes the client saw no ack for are in the read-back.
    An unknown one applied is normal; a refused one applied is surprising, and said so."""
    check, subject = "unacknowledged_writes_applied", readback.source
    expected = "unacknowledged writes read back: reported (an unknown outcome may have applied)"
    if why := _unusable(ledger, readback):
        return inconclusive(check, expected, why, window, subject=subject)
    unacked = ledger[ledger.outcome != ACK].sort_values("done", kind="stable")
    applied = unacked[unacked.id.isin(readback.found)]
    refused = applied[applied.outcome == ERROR].id.tolist()
    reason = (f"surprising: {len(refused):,} write(s) the database refused were applied: {_named(refused)}"
              if refused else "")
    return judged(check, True, expected, f"{len(applied):,} of {len(unacked):,} unacknowledged writes applied "
                  f"({len(refused):,} refused, {len(applied) - len(refused):,} unknown)", window,
                  _evidence(ledger, readback), reason, subject=subject, unacknowledged=len(unacked),
                  applied=len(applied), applied_ids=applied.id.tolist(), refused_applied=len(refused))


def failover_time(ledger: pd.DataFrame, fault_at: float, within_s: float, window: Window | None = None,
                  members: dict[str, str] | None = None) -> Verdict:
    """From the primary's loss (fault_at) to the first write acknowledged by another server than
    the one that acknowledged the last write before it: the client's failover time. Acks that
    name no server cannot tell a primary and are left out. members: server address -> the member
    (pod) it was, when known: a pod back on a new address is the same member, restarted, and the
    verdict says so (its time is still the writers' outage)."""
    check, expected = "failover_time", f"a new primary acknowledges writes within {within_s:g} s of the fault"
    if why := _unusable(ledger):
        return inconclusive(check, expected, why, window)
    acks = _acks(ledger)
    acks = acks[acks.server != ""]
    before, after = acks[acks.done < fault_at], acks[acks.done >= fault_at]
    if before.empty:
        return inconclusive(check, expected, "no acknowledged write before the fault: the old primary is unknown",
                            window)
    old = before.server.iloc[-1]
    new = after[after.server != old]
    if new.empty:
        return _no_new_primary(ledger, acks, after, old, fault_at, within_s, expected, window)
    first = new.iloc[0]
    failover_s = float(first.done - fault_at)
    meanwhile = ledger[(ledger.outcome != ACK) & (ledger.sent >= fault_at) & (ledger.sent <= first.done)]
    ok = failover_s <= within_s
    members = members or {}
    old_member, new_member = members.get(old, ""), members.get(first.server, "")
    same = bool(old_member) and old_member == new_member
    return judged(check, ok, expected, f"{failover_s:.1f} s: first ack on {_server(first.server, members)} at "
                  f"{_at(ledger, first.done)}, fault at {_at(ledger, fault_at)} (old primary "
                  f"{_server(old, members)}{'; the same member back, restarted: no other took over' if same else ''}; "
                  f"{len(meanwhile):,} write(s) not acknowledged meanwhile)", window,
                  {"fault_at": fault_at, "first_new_ack_at": float(first.done)},
                  "" if ok else f"failover took {failover_s:.1f} s > {within_s:g} s", failover_s=failover_s,
                  old_server=old, new_server=first.server, old_member=old_member, new_member=new_member,
                  same_member=same, writes_refused_meanwhile=len(meanwhile))


def _server(address: str, members: dict[str, str]) -> str:
    return f"{members[address]} ({address})" if members.get(address) else address


def _no_new_primary(ledger, acks, after, old, fault_at, within_s, expected, window) -> Verdict:
    """No write acknowledged by another server after the fault: the old primary went on (no
    failover to judge), or the writer kept trying past the bound (fail), or it stopped too soon."""
    check, last = "failover_time", acks[acks.server == old].done.iloc[-1]
    if len(after):
        return inconclusive(check, expected, f"no failover happened: {len(after):,} write(s) acknowledged by {old} "
                            f"after the fault, the last at {_at(ledger, last)} (the fault missed the primary, or "
                            "it came back and was never replaced)", window)
    tried = ledger[ledger.sent >= fault_at]
    if not tried.empty and tried.sent.max() >= fault_at + within_s:
        return judged(check, False, expected, f"no write acknowledged after the fault: {len(tried):,} tried up to "
                      f"{_at(ledger, tried.sent.max())}, none acknowledged", window, {"fault_at": fault_at},
                      f"no new primary acknowledged a write within {within_s:g} s (last ack on {old} at "
                      f"{_at(ledger, last)})", old_server=old, new_server="", writes_refused_meanwhile=len(tried))
    return inconclusive(check, expected, f"no acknowledged write on a new primary after the fault, and the writes "
                        f"stopped before {within_s:g} s had passed (last ack on {old} at {_at(ledger, last)})", window)


def stale_reads(reads: pd.DataFrame, max_lag_s: float, window: Window | None = None) -> Verdict:
    """How stale the replicas were for a client reading its own acknowledged write: an order the
    first read did not find was a stale read; its lag is acknowledgement to the read that found
    it. An order never found counts with the time the client waited (a lower bound). fail: a lag
    over max_lag_s. Orders whose reads reached no replica (errors) are counted, not judged."""
    check, expected = "stale_reads", f"an acknowledged write visible on the replicas within {max_lag_s:g} s"
    if reads.empty:
        return inconclusive(check, expected, "no replica read: the writers read nothing back (none acknowledged?)",
                            window)
    judgeable = reads[reads.visible.notna() | (reads.error == "")]
    errors = len(reads) - len(judgeable)
    if judgeable.empty:
        return inconclusive(check, expected, f"no read of {len(reads):,} reached a replica: "
                            f"{reads.error.iloc[0]}", window)
    lag = judgeable.visible.fillna(judgeable["last"]) - judgeable.acked
    stale = judgeable[(judgeable.reads > 1) | judgeable.visible.isna()]
    never = judgeable[judgeable.visible.isna()]
    worst = judgeable.loc[lag.idxmax()]
    max_lag = float(lag.max())
    ok = max_lag <= max_lag_s
    observed = (f"{len(stale):,} of {len(judgeable):,} reads stale, longest {max_lag:.2f} s ({worst.id}"
                + (", never shown" if pd.isna(worst.visible) else "") + ")"
                + (f"; {len(never):,} never shown" if len(never) else "")
                + (f"; {errors:,} reached no replica" if errors else ""))
    return judged(check, ok, expected, observed, window, {"lag_p50_s": float(lag.median()), "max_lag_s": max_lag},
                  "" if ok else f"a client read the replicas {max_lag:.2f} s after its write was acknowledged and "
                  f"did not see it", reads=len(judgeable), stale=len(stale), never_shown=len(never),
                  max_lag_s=max_lag, errors=errors)


def _longest_run_s(flags: pd.Series) -> float:
    """The longest span, first to last sample time, of consecutive samples flagged True."""
    runs = (flags != flags.shift()).cumsum()
    return max(float(g.index[-1] - g.index[0]) for _, g in flags.groupby(runs) if g.iloc[0])


def split_brain(roles: pd.DataFrame, window: Window | None = None, leader_role: str = "master") -> Verdict:
    """fail: at some sampling instant two or more ready pods carried the leader role. roles: t (one
    sampling instant, unix seconds), pod, role ('' for none) and, when known, ready: a label left
    on a pod that is not ready (its node dead, say) routes nothing, and is counted apart (stale).
    longest_s is a lower bound: from the first to the last sample of the longest run of such instants."""
    check, expected = "split_brain", f"at most one ready pod labelled {leader_role} at any instant"
    if roles.empty or not {"t", "pod", "role"} <= set(roles.columns):
        return inconclusive(check, expected, "no role sample", window)
    instants = np.sort(roles.t.unique())
    labelled = roles.role == leader_role
    ready = roles.ready.fillna(True).astype(bool) if "ready" in roles.columns else pd.Series(True, roles.index)
    serving, stale = roles[labelled & ready], roles[labelled & ~ready]
    leaders = serving.groupby("t").pod.nunique().reindex(instants, fill_value=0)
    if not leaders.any():
        return inconclusive(check, expected, f"no leader seen: the sampler saw nothing to compare "
                            f"({len(instants):,} instant(s), no ready pod labelled {leader_role})", window)
    split = leaders > 1
    counts = {"leaderless": int((leaders == 0).sum()), "stale_instants": int(stale.t.nunique()),
              "stale_pods": sorted(stale.pod.unique())}
    aside = (f"; {', '.join(counts['stale_pods'])} labelled {leader_role} while not ready in "
             f"{counts['stale_instants']:,} instant(s), not counted" if len(stale) else "")
    if not split.any():
        seen = serving.sort_values("t", kind="stable").pod.unique().tolist()
        return judged(check, True, expected, f"one {leader_role} at most in each of {len(instants):,} instant(s) "
                      f"({leader_role}: {', '.join(seen)}){aside}", window, instants=0, longest_s=0.0, **counts)
    splits = split[split].index
    first_at = float(splits[0])
    at_first = sorted(serving[serving.t == first_at].pod.unique())
    pods = sorted(serving[serving.t.isin(splits)].pod.unique())
    longest_s = _longest_run_s(split)
    return judged(check, False, expected, f"{len(at_first)} ready pods labelled {leader_role} at "
                  f"+{first_at - instants[0]:.1f} s ({', '.join(at_first)}); {len(splits):,} instant(s), "
                  f"longest run {longest_s:.1f} s{aside}", window,
                  {"split_at": [float(t) for t in splits]},
                  f"split brain: {', '.join(pods)} were {leader_role} and ready at once", instants=len(splits),
                  first_at=first_at, pods=pods, longest_s=longest_s, **counts)


def rejoin_time(roles: pd.DataFrame, pod: str, fault_at: float, within_s: float,
                window: Window | None = None) -> Verdict:
    """From the fault that took `pod` (fault_at) to the first sample, after the sampler saw it gone
    or not ready, in which it is back and ready: how long the group ran a member short. roles as
    for split_brain. A pod never seen down is inconclusive (a restart under the 1 s sampling, or a
    fault that missed it), as is a run that ended before within_s had passed."""
    check, expected = "rejoin_time", f"{pod} back and ready within {within_s:g} s of the fault"
    instants = np.sort(roles.t[roles.t >= fault_at].unique()) if "t" in roles.columns else np.array([])
    if not len(instants):
        return inconclusive(check, expected, "no role sample after the fault", window, subject=pod)
    mine = roles[(roles.pod == pod) & (roles.t >= fault_at)]
    ready = mine[mine.ready.fillna(False).astype(bool)] if "ready" in mine.columns else mine
    up = pd.Series(False, index=instants)
    up[up.index.isin(ready.t)] = True
    if up.all():
        return inconclusive(check, expected, f"{pod} never seen gone or not ready in {len(instants):,} sample(s) "
                            "after the fault (back within a sampling second, or the fault missed it)", window,
                            subject=pod)
    down_at = float(up.index[~up.to_numpy()][0])
    back = up[(up.index > down_at) & up.to_numpy()]
    if back.empty:
        waited = float(instants[-1] - fault_at)
        if waited < within_s:
            return inconclusive(check, expected, f"{pod} not back when the samples end, {waited:.1f} s after "
                                "the fault: too short a run to judge", window, subject=pod)
        return judged(check, False, expected, f"{pod} not back in {waited:.1f} s of samples", window,
                      {"fault_at": fault_at, "down_at": down_at}, f"{pod} did not rejoin within {within_s:g} s",
                      subject=pod, rejoin_s=None)
    back_at = float(back.index[0])
    role = mine[mine.t == back_at].role.iloc[0]
    rejoin_s = back_at - fault_at
    ok = rejoin_s <= within_s
    return judged(check, ok, expected, f"{rejoin_s:.1f} s: {pod} ready again as {role or 'no role'} "
                  f"(gone or not ready from +{down_at - fault_at:.1f} s)", window,
                  {"fault_at": fault_at, "down_at": down_at, "back_at": back_at},
                  "" if ok else f"{pod} took {rejoin_s:.1f} s > {within_s:g} s to rejoin", subject=pod,
                  rejoin_s=rejoin_s, role=role)


def ledger_timeline(ledger: pd.DataFrame, readback: ReadBack | None = None, bin_s: float = 1.0) -> pd.DataFrame:
    """Per bin (t: its start, unix seconds, bins aligned on multiples of bin_s), the writes
    attempted (by sent), and acknowledged, refused, unknown and lost (by done). Every bin from the
    first to the last is there, empty ones at 0. lost is 0 throughout without a read-back."""
    empty = pd.DataFrame({c: pd.Series(dtype=float if c == "t" else int) for c in TIMELINE})
    if ledger.empty or any(c not in ledger.columns for c in COLUMNS):
        return empty
    times = {"attempted": ledger.sent, "acknowledged": ledger.done[ledger.outcome == ACK],
             "refused": ledger.done[ledger.outcome == ERROR], "unknown": ledger.done[ledger.outcome == UNKNOWN],
             "lost": _lost(ledger, readback).done}
    bins = {name: np.floor(t.dropna() / bin_s).astype(int) for name, t in times.items()}
    every = pd.concat(bins.values())
    if every.empty:
        return empty
    index = range(every.min(), every.max() + 1)
    counts = {name: b.value_counts().reindex(index, fill_value=0).to_numpy() for name, b in bins.items()}
    return pd.DataFrame({"t": np.array(index) * bin_s, **counts})
