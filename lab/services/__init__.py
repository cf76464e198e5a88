"""Services a scenario can declare beside the app under test (PostgreSQL now; an upstream next)."""
