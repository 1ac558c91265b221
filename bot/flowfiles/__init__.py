"""The dialogs folder read from disk: flow files (`dialogs.py`) and translation catalogs
(`catalogs.py`). The engine checks what is read and reads no file itself (a tested contract)."""
from bot.flowfiles.catalogs import check_translations, load_catalogs, source_texts
from bot.flowfiles.dialogs import load_flows

__all__ = ["check_translations", "load_catalogs", "load_flows", "source_texts"]
