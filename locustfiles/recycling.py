"""Load for worker-recycling: one cheap GET that leaks a little in the worker that serves it.

locust -f locustfiles/recycling.py -H http://127.0.0.1:8000
"""

from _common import PacedUser
from locust import task


class Client(PacedUser):
    @task
    def work(self) -> None:
        with self.client.get("/work", name="/work", catch_response=True) as response:
            if response.status_code != 200 or b"kept_kb" not in response.content:
                response.failure(f"status {response.status_code}")
