"""The support desk's own actions and notices (notes, ownership, snoozes, saved replies,
history, goodwill codes, SLA warnings, the customer's state), beside the case logic of
bot/conversation/cases.py. Platform code stays in bot/channels/."""
from bot.desk.actions import DeskActions, owns_note
from bot.desk.saved_replies import SavedReplies, check_saved_replies, load_saved_replies

__all__ = ["DeskActions", "SavedReplies", "check_saved_replies", "load_saved_replies", "owns_note"]
