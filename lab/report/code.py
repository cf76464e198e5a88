"""Bad beside each fix, read from the app files themselves, with the lines that differ highlighted."""

from __future__ import annotations

import difflib
from pathlib import Path

from lab.paths import ROOT
from lab.report.html import esc


def source(app_ref: str, root: Path = ROOT) -> Path | None:
    """`apps.loop_blocking.bad:app` -> apps/loop_blocking/bad.py, if it is a file of this checkout."""
    module = app_ref.split(":", 1)[0]
    path = root.joinpath(*module.split(".")).with_suffix(".py")
    return path if path.is_file() else None


def side_by_side(left: list[str], right: list[str]) -> list[tuple[str, str, str, str]]:
    """Rows of (left line, its class, right line, its class): `del` only on the left, `add` only on the
    right, `chg` changed, '' the same."""
    rows: list[tuple[str, str, str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=left, b=right, autojunk=False).get_opcodes():
        if op == "equal":
            rows += [(left[i], "", right[j], "") for i, j in zip(range(i1, i2), range(j1, j2), strict=True)]
            continue
        a, b = left[i1:i2], right[j1:j2]
        for k in range(max(len(a), len(b))):
            la, lb = (a[k] if k < len(a) else ""), (b[k] if k < len(b) else "")
            kind = "chg" if k < len(a) and k < len(b) else ""
            rows.append((la, kind or ("del" if la else ""), lb, kind or ("add" if lb else "")))
    return rows


def diff_html(variants: dict[str, str]) -> str:
    """Each fix beside the first variant (bad), or '' when the apps are not files of this checkout."""
    files = {name: source(ref) for name, ref in variants.items()}
    names = [n for n, p in files.items() if p is not None]
    if len(names) < 2:
        return ""
    first = names[0]
    bad = files[first].read_text().splitlines()  # type: ignore[union-attr]
    parts = []
    for name in names[1:]:
        fix = files[name].read_text().splitlines()  # type: ignore[union-attr]
        rows = "".join(
            f"<tr><td class='code {ca}'>{esc(a)}</td><td class='code {cb}'>{esc(b)}</td></tr>"
            for a, ca, b, cb in side_by_side(bad, fix)
        )
        parts.append(
            f"<div class='wide'><table class='diff' data-left='{esc(first)}' data-right='{esc(name)}'>"
            f"<tr><th>{esc(first)} <span class='muted'>{esc(files[first].name)}</span></th>"  # type: ignore[union-attr]
            f"<th>{esc(name)} <span class='muted'>{esc(files[name].name)}</span></th></tr>{rows}</table></div>"  # type: ignore[union-attr]
        )
    return "".join(parts)
