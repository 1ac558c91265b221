"""Texts, dates and numbers in the customer's language: the catalogs (`catalogs.py`) and CLDR formats (`formats.py`)."""
