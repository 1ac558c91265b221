"""config.yml -> validated, typed settings (`settings.py`) and the base of every section (`model.py`)."""
