"""podinfo's traffic as its user would write it for a game day (its stack file names this file:
load.locustfile): API clients asking for its info, echoing payloads, signing and checking tokens,
storing and reading back blobs, each with next to no pause, so that the scale-out game day's surge
costs podinfo CPU enough for its HPA (99 % of a 100m request per pod) to act. Nothing of the
suite's is imported: the suite adds its timeline and the profile's shape beside this file."""

import os

from locust import HttpUser, between, task

PAYLOAD = os.urandom(16 * 1024).hex()   # 32 KiB of text: echoing and hashing it costs podinfo some CPU


class ApiClient(HttpUser):
    wait_time = between(0.01, 0.05)

    @task(3)
    def info(self):
        self.client.get("/api/info")

    @task(3)
    def echo(self):
        self.client.post("/api/echo", data=PAYLOAD)

    @task(2)
    def token(self):
        with self.client.post("/token", name="/token", catch_response=True) as response:
            token = response.json().get("token", "") if response.ok else ""
        if token:
            self.client.get("/token/validate", headers={"Authorization": f"Bearer {token}"})

    @task(2)
    def store(self):
        with self.client.post("/store", data=PAYLOAD, catch_response=True) as response:
            digest = response.json().get("hash", "") if response.ok else ""
        if digest:
            self.client.get(f"/store/{digest}", name="/store/{hash}")
