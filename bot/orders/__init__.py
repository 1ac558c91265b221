"""Orders in: order files read and validated (`files.py`), the one upsert (`importing.py`), a watched inbox (`watch.py`)."""
