"""Slack send rate against the loopback server's limit.

Sends check-ins through the real adapter (slack-sdk over HTTP) to many DM channels, paced per
channel at the server's limit the way the outbox dispatcher paces them, honouring Retry-After
on a 429. Prints the achieved rate as a fraction of the limit, the 429 count, and what the
server holds: lost and duplicated messages. Also prints the adapter's unpaced throughput
(limit off), which says how much headroom the HTTP path has.

    python -m bench.slack_bench [--channels 20] [--per-channel 40] [--rate 10]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections import Counter
from dataclasses import dataclass
from typing import Optional, Sequence

from bot.channels.slack import SlackChannel
from bot.events import Button, OutboundMessage, SendStatus
from bot.sandbox.slack_api import SlackSandbox

BUTTONS = tuple(Button(str(n), str(n)) for n in range(1, 6))


@dataclass
class Figures:
    sent: int
    seconds: float
    limit: float          # messages per second the server allows over all channels
    retries: int
    ratelimited: int      # 429s counted at the server
    lost: int
    duplicated: int

    channels: int = 1

    @property
    def rate(self) -> float:
        """Sustained rate: the gaps between each channel's sends over the time taken (the
        first send of a channel is at time 0, so it is not a gap)."""
        return (self.sent - self.channels) / self.seconds if self.seconds else 0.0


async def _channel_worker(slack: SlackChannel, user: str, count: int, interval: float,
                          burst: int, counters: Counter) -> None:
    """One channel's queue, sent in order every `interval` seconds, each message until it is
    SENT. A send that comes late may be followed by catch-up sends, as long as the server's
    bucket (`burst` deep) still holds a token for them: the pacing mirrors the server's."""
    next_at = time.monotonic()
    for n in range(count):
        message = OutboundMessage("slack", user, f"check-in {user} #{n}", BUTTONS, proactive=True)
        while True:
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            result = await slack.send(message)
            if result.status is SendStatus.SENT:
                slack_allowed = time.monotonic() - (burst - 1) * interval
                next_at = max(next_at + interval, slack_allowed) if interval else next_at
                break
            counters["retries"] += 1
            next_at = time.monotonic() + (result.retry_after or 0.05)


async def run(channels: int, per_channel: int, rate: float, burst: int = 3,
              overdrive: float = 1.0) -> Figures:
    """Send `channels` x `per_channel` messages against a server allowing `rate`/s per
    channel (0 = no limit); `overdrive` > 1 paces faster than the limit to provoke 429s."""
    async with SlackSandbox(rate=rate, burst=burst) as sandbox:
        slack = SlackChannel(bot_token=sandbox.token, signing_secret=sandbox.signing_secret,
                             base_url=sandbox.base_url)
        users = [sandbox.add_user(f"customer{i}") for i in range(channels)]
        for user in users:                      # open the DMs first: not part of the send rate
            await slack.open_dm(user)
        counters: Counter = Counter()
        interval = 1.0 / (rate * overdrive) if rate else 0.0
        started = time.monotonic()
        await asyncio.gather(*(_channel_worker(slack, u, per_channel, interval, burst, counters) for u in users))
        seconds = time.monotonic() - started
        texts = Counter(m.text for u in users for m in sandbox.dms_to(u))
        expected = {f"check-in {u} #{n}" for u in users for n in range(per_channel)}
        return Figures(
            sent=sum(texts.values()), seconds=seconds, limit=rate * channels, channels=channels,
            retries=counters["retries"], ratelimited=sandbox.ratelimited,
            lost=len(expected - set(texts)), duplicated=sum(c - 1 for c in texts.values() if c > 1),
        )


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Print the Slack send rate against the loopback server's per-channel limit."""
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    parser = argparse.ArgumentParser(prog="slack_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=20, help="DM channels sent to at once")
    parser.add_argument("--per-channel", type=int, default=40, help="messages per channel")
    parser.add_argument("--rate", type=float, default=10.0,
                        help="server limit, messages/s per channel (Slack's is about 1)")
    args = parser.parse_args(argv)

    paced = asyncio.run(run(args.channels, args.per_channel, args.rate))
    ideal = (args.per_channel - 1) / args.rate
    print(f"slack paced: {paced.sent} messages to {args.channels} channels in {paced.seconds:.2f} s: "
          f"{paced.rate:.1f}/s against a limit of {paced.limit:.0f}/s "
          f"({paced.rate / paced.limit:.2f} of the limit; ideal run {ideal:.1f} s), "
          f"429s {paced.ratelimited}, retries {paced.retries}, "
          f"lost {paced.lost}, duplicated {paced.duplicated}")

    hot = asyncio.run(run(args.channels, args.per_channel, args.rate, overdrive=2.0))
    print(f"slack overdriven (paced at 2x the limit, Retry-After honoured): {hot.sent} messages in "
          f"{hot.seconds:.2f} s: {hot.rate:.1f}/s ({hot.rate / hot.limit:.2f} of the limit), "
          f"429s {hot.ratelimited}, lost {hot.lost}, duplicated {hot.duplicated}")

    raw = asyncio.run(run(args.channels, args.per_channel, 0.0))
    print(f"slack unpaced (server limit off): {raw.sent} messages in {raw.seconds:.2f} s: "
          f"{raw.sent / raw.seconds:.0f}/s, lost {raw.lost}, duplicated {raw.duplicated}")


if __name__ == "__main__":
    main()
