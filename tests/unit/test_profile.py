import pytest

from loadtests.profile import Profile, ProfileError, load_profile, validated


def test_step_adds_users_every_step_then_ends():
    p = validated(Profile(shape="step", users=10, step_users=5, step_s=30, steps=3))
    assert [p.users_at(t) for t in (0, 29.9, 30, 61, 89.9)] == [10, 10, 15, 20, 20]
    assert p.users_at(90) is None
    assert p.total_s == 90


def test_spike_is_baseline_spike_baseline():
    p = validated(Profile(shape="spike", users=4, spike_users=40, before_s=10, spike_s=5, after_s=10))
    assert [p.users_at(t) for t in (0, 9.9, 10, 14.9, 15, 24.9)] == [4, 4, 40, 40, 4, 4]
    assert p.users_at(25) is None


def test_steady_and_soak_hold_users_for_duration():
    for shape in ("steady", "soak"):
        p = validated(Profile(shape=shape, users=7, duration_s=60))
        assert p.users_at(0) == p.users_at(59) == 7 and p.users_at(60) is None


def test_overrides_win_and_are_validated():
    p = validated(Profile()).with_overrides(users=3, shape=None)
    assert p.users == 3 and p.shape == "steady"
    with pytest.raises(ProfileError, match="field 'users'"):
        p.with_overrides(users=-1)


def test_every_shipped_profile_loads():
    from pathlib import Path
    files = sorted(Path(__file__).resolve().parents[2].glob("loadtests/profiles/*.yaml"))
    assert {f.stem for f in files} >= {"steady", "step", "spike", "soak"}
    for f in files:
        assert load_profile(f).total_s > 0


@pytest.mark.parametrize("text, field", [
    ("shape: ramp\n", "shape"),
    ("users: ten\n", "users"),
    ("spawn_rate: 0\n", "spawn_rate"),
    ("thresholds: ['p95 < soon']\n", "thresholds"),
])
def test_bad_profile_names_file_and_field(tmp_path, text, field):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert str(path) in str(err.value) and f"'{field}'" in str(err.value)


def test_unknown_field_and_bad_yaml_are_clear(tmp_path):
    (tmp_path / "a.yaml").write_text("usres: 3\n")
    with pytest.raises(ProfileError, match="unknown field.*usres"):
        load_profile(tmp_path / "a.yaml")
    (tmp_path / "b.yaml").write_text("users: [\n")
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile(tmp_path / "b.yaml")
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "missing.yaml")


def test_writers_are_part_of_the_users_and_never_more():
    assert validated(Profile(users=10, writers=4)).writers == 4
    with pytest.raises(ProfileError, match="field 'writers': 11 writers are more than the 10 users"):
        validated(Profile(users=10, writers=11))
    with pytest.raises(ProfileError, match="field 'writers': must be a whole number"):
        validated(Profile(users=10, writers=-1))
