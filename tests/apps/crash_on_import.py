"""An app that cannot even be imported: the lab must say so in one line."""

raise RuntimeError("boom: this app fails at import")
