"""Presentations of the report: terminal tables, the HTML page with charts, Datasette."""
