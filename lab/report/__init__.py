"""HTML reports from run records (pandas + plotly), offline: plotly.js ships once beside them."""

from lab.report.index import build_index
from lab.report.page import build

__all__ = ["build", "build_index"]
