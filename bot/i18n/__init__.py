"""Texts, dates and numbers in the customer's language: the catalogs (`catalogs.py`; bot/flowfiles reads their files) and CLDR formats (`formats.py`)."""
