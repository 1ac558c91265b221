"""config.yml -> validated, typed settings (`settings.py`), read from disk by `loading.py`, and the base of every section (`model.py`)."""
