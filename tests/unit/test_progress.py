"""The live line says what the run is doing from the control's events, not from its log."""

import time

from edge.rundir import append_event, note_progress
from gameday.progress import Progress, phase_of


def test_each_event_reads_as_a_phase():
    assert phase_of({"event": "warm-up", "seconds": 20}) == "warming up the load for 20 s"
    assert phase_of({"event": "load-starting", "workers": 2}) == "starting the load: its 2 Locust workers connecting"
    assert phase_of({"event": "settling", "seconds": 900}) == "waiting (up to 900 s) for the HPAs to come to rest"
    started = {"event": "activity-started", "part": "method", "type": "action", "name": "drain-a-worker"}
    assert phase_of(started) == "method: action drain-a-worker"
    assert phase_of({**started, "event": "activity-ended", "status": "succeeded"}) == \
        "method: action drain-a-worker succeeded"
    assert phase_of({"event": "rollbacks-started"}) == "rollbacks started"


def test_the_line_shows_the_last_event_and_for_how_long(tmp_path):
    (tmp_path / "events.jsonl").write_text(
        '{"t": 1.0, "event": "warm-up", "seconds": 20}\n'
        '{"t": 2.0, "event": "activity-started", "part": "rollbacks", "type": "action", "name": "uncordon"}\n'
        '{"t": 3.0, "event": "activity-en')  # being written: left for the next read
    assert Progress(tmp_path, ("api",)).phase() == ("rollbacks: action uncordon", 2.0)
    assert Progress(tmp_path / "none", ("api",)).phase() == ("starting", None)


def test_a_long_activity_says_what_it_is_at_under_its_own_phase(tmp_path, monkeypatch):
    monkeypatch.setenv("GAMEDAY_RUN_DIR", str(tmp_path))
    monkeypatch.setattr(time, "time", lambda: 1_800_000_000.0)   # "(0 s)" whatever the machine's pace
    append_event(tmp_path, "activity-started", part="method", type="probe", name="watch-the-copy-recover")
    note_progress("885 of 1237 pods evicted, 2400 of 2654 available, 0 Pending")
    progress = Progress(tmp_path, ("api",))
    assert progress.phase()[0] == "method: probe watch-the-copy-recover"
    assert "watch-the-copy-recover (0 s): 885 of 1237 pods evicted, 2400 of 2654 available, 0 Pending |" in \
        progress.line(60)
    append_event(tmp_path, "activity-ended", part="method", type="probe", name="watch-the-copy-recover",
                 status="succeeded")
    assert "Pending" not in progress.line(61), "a note is the running activity's, not the next phase's"
