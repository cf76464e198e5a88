"""Load for shop (shop.main:app), written by `fastapi-lab init` from the app's OpenAPI.

Each task is one request; under the lab's open model every arrival runs one task, chosen by
weight (`@task(3)` is three times as likely as `@task`). Weigh the tasks as your traffic is
weighed. A task marks an answer that is not 200 a failure, and the SLO counts failures.

    locust -f locustfiles/shop.py -H http://127.0.0.1:8000    # the same tasks in Locust's web UI
"""

from typing import Any

from locust import FastHttpUser, task


def expect_ok(response: Any) -> None:
    """A 200 is a success; anything else a failure with its status."""
    if response.status_code == 200:
        response.success()
    else:
        response.failure(f"status {response.status_code}")


class Visitor(FastHttpUser):
    @task
    def get_healthz(self) -> None:
        with self.client.get("/healthz", catch_response=True) as response:
            expect_ok(response)

    @task
    def get_items(self) -> None:
        with self.client.get("/items", catch_response=True) as response:
            expect_ok(response)

    # TODO POST /items (Create): send a real JSON body (its schema is in /docs)
    # @task
    # def post_items(self) -> None:
    #     with self.client.post("/items", json={"TODO": "a real body"}, catch_response=True, name="/items") as response:
    #         expect_ok(response)

    # TODO GET /items/{item_id} (One item): give item_id real values
    # @task
    # def get_items_item_id(self) -> None:
    #     with self.client.get("/items/TODO", catch_response=True, name="/items/{item_id}") as response:
    #         expect_ok(response)

    # TODO GET /search (Search): give q real values
    # @task
    # def get_search(self) -> None:
    #     with self.client.get("/search?q=TODO", catch_response=True, name="/search") as response:
    #         expect_ok(response)
