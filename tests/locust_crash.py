"""A locustfile that fails at import: Locust exits non-zero and the lab must report it."""

raise RuntimeError("this locustfile is broken")
