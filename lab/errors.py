"""Errors the user can act on. The CLI prints them as one line and exits non-zero."""


class LabError(Exception):
    """Bad input or an environment that cannot run the scenario; the message says what to fix."""


class CellError(LabError):
    """One cell could not be measured (app did not start, answered wrongly, Locust crashed)."""
