"""The README's catalogue table, generated from the scenario files: one row per scenario, from its
`[catalogue]` table (or its title, variants and claim), so adding a pitfall edits no table by hand.
`python -m lab schema` rewrites it; `make lint`'s tests check that it is current.
"""

from __future__ import annotations

from lab.paths import ROOT
from lab.scenario import loading
from lab.scenario.models import Scenario

BEGIN, END = "<!-- pitfalls: generated from scenarios/*.toml -->", "<!-- pitfalls: end -->"


def _link(scenario: Scenario) -> str:
    """The pitfall's README: the folder of its first variant's app."""
    package = next(iter(scenario.variants.values())).split(":")[0].rsplit(".", 1)[0]
    readme = ROOT / package.replace(".", "/") / "README.md"
    return str(readme.relative_to(ROOT)) if readme.is_file() else scenario.path


def row(scenario: Scenario) -> str:
    c = scenario.catalogue
    variants = c.variants or ", ".join(f"`{v}`" for v in scenario.variants)
    cells = [
        c.pitfall or scenario.title,
        f"[`{scenario.name}`]({_link(scenario)})",
        variants,
        c.claim or scenario.claim,
    ]
    return "| " + " | ".join([*cells, c.seeds]) + " |"


def table() -> str:
    scenarios = sorted((loading.load(n) for n in loading.known()), key=lambda s: (s.catalogue.order, s.name))
    head = ["| pitfall | scenario | variants | claim | the seeds say |", "| --- | --- | --- | --- | --- |"]
    return "\n".join(head + [row(s) for s in scenarios])


def refresh(text: str) -> str:
    """`text` with the table between the markers replaced by the scenarios'."""
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"
