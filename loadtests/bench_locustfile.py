"""Benchmark traffic: as many requests as one Locust process can make to the cheapest endpoint.
FastHttpUser (geventhttpclient) and no wait: this measures the generator, not a user model."""

from locust import FastHttpUser, task


class Hammer(FastHttpUser):
    @task
    def health(self):
        self.client.get("/health")
