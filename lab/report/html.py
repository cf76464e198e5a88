"""The page shell shared by every report: offline plotly.js, one stylesheet, escaping."""

from __future__ import annotations

import html
from pathlib import Path

import plotly
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

PLOTLY_JS = "plotly.min.js"

CSS = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1180px; color: #222; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; font-size: 1.2rem; }
.muted { color: #666; } table { border-collapse: collapse; margin: .6rem 0; font-size: .9rem; }
/* A table wider than the page scrolls inside it instead of running past the page's edge. */
table { display: block; max-width: 100%; overflow-x: auto; }
.wide { overflow-x: auto; }
td, th { border-bottom: 1px solid #e3e3e3; padding: .3rem .7rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.verdict { font-weight: 700; padding: .1rem .5rem; border-radius: .3rem; color: white; white-space: nowrap; }
.pass { background: #2e7d32; } .fail { background: #c62828; } .inconclusive { background: #8d6e63; }
.claim { font-size: 1.1rem; padding: .8rem 1rem; background: #f6f6f6; border-left: 4px solid #999; }
.flag { background: #fff3cd; padding: .05rem .4rem; border-radius: .25rem; font-size: .85rem; }
table.diff { border-collapse: collapse; font-size: .8rem; table-layout: fixed; width: 100%; display: table; }
table.diff td { border: 0; padding: 0 .6rem; }
/* Bad beside fix: long lines wrap within their half rather than push the fix off the right edge. */
td.code { font-family: ui-monospace, monospace; white-space: pre-wrap; overflow-wrap: anywhere; } td.del { background: #fde2e2; }
td.add { background: #dcf5dc; } td.chg { background: #fff1c2; }
pre.cmd { background: #f6f6f6; padding: .6rem 1rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 1rem; }
.card { border: 1px solid #ddd; border-radius: .5rem; padding: .8rem 1rem; }
.card .big { font-size: 2rem; font-weight: 700; } .card h3 { margin: .2rem 0 .4rem; font-size: 1.05rem; }
"""


def esc(value: object) -> str:
    return html.escape(str(value))


def ensure_plotly_js(reports: Path) -> None:
    """plotly.js once beside the reports (not inlined per file, no CDN), refreshed on upgrade."""
    target = reports / PLOTLY_JS
    stamp = reports / ".plotly-version"
    if target.exists() and stamp.exists() and stamp.read_text() == plotly.__version__:
        return
    target.write_text(get_plotlyjs())
    stamp.write_text(plotly.__version__)


def figure(fig: go.Figure, name: str) -> str:
    config = {
        "displaylogo": False,
        "responsive": True,
        "toImageButtonOptions": {"format": "png", "scale": 2, "filename": name},
    }
    return str(fig.to_html(full_html=False, include_plotlyjs=False, config=config, div_id=name))


def page(title: str, body: str) -> str:
    return (
        f"<!doctype html>\n<html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<script src='{PLOTLY_JS}'></script><style>{CSS}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ensure_plotly_js(path.parent)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path
