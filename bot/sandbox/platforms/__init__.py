"""The sandbox's platform servers and their clients, one set per channel: the loopback servers
(`<channel>_api` and its parts), the adapter pointed at each and the clients that act on it as
customers and agents (`<channel>_driver`, which declares the channel's `Platform`), and drills
that only make sense on one platform. The rest of bot/sandbox looks platforms up by channel
name in `registry.py` and names none."""
