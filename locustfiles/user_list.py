"""Load for response-model-large-list: paced users fetching the user list.

locust -f locustfiles/user_list.py -H http://127.0.0.1:8000
"""

from _common import PacedUser
from locust import task


class Reader(PacedUser):
    @task
    def users(self) -> None:
        with self.client.get("/users", catch_response=True) as response:
            if response.status_code != 200 or not response.content.startswith(b"["):
                response.failure(f"status {response.status_code}")
            elif b"password_hash" in response.content:
                response.failure("a secret field leaked into the response")
