"""The Locust side of a profile: one LoadTestShape that follows loadtests.profile.

The runner passes the profile as JSON in GAMEDAY_PROFILE; GAMEDAY_PROFILE_FILE names a YAML
profile for a plain `locust -f loadtests/locustfile.py,loadtests/harness.py` run.
"""

import json
import os

from locust import LoadTestShape

from loadtests.profile import Profile, load_profile, validated


def profile_from_env() -> Profile:
    if "GAMEDAY_PROFILE" in os.environ:
        return validated(Profile(**json.loads(os.environ["GAMEDAY_PROFILE"]), source="GAMEDAY_PROFILE"))
    if "GAMEDAY_PROFILE_FILE" in os.environ:
        return load_profile(os.environ["GAMEDAY_PROFILE_FILE"])
    return validated(Profile())


class ProfileShape(LoadTestShape):
    def __init__(self):
        super().__init__()
        self.profile = profile_from_env()

    def tick(self):
        users = self.profile.users_at(self.get_run_time())
        return None if users is None else (users, self.profile.spawn_rate)
