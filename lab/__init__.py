"""FastAPI performance lab: scenario -> plan -> run record -> claims and report."""
