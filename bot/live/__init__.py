"""What runs: the wiring of the core, the main loop, the dispatcher (`outbox.py`), the HTTP server, `aftercare run` and `aftercare chat`."""
