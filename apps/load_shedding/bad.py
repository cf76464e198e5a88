"""Bad: nothing limits the work in progress. Offered more than the pool serves, every request is
accepted and queues for a connection; the queue grows for as long as the overload lasts, and so
does every answer's wait. All are answered, seconds late: long after most clients gave up."""

from apps.load_shedding.service import user_service

app = user_service("load-shedding: bad")
