"""The base of every config.yml section (strict keys, frozen) and the shared field parsers,
so a channel's own section (bot/channels/*_spec.py) validates like the core's."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel

from bot.base.durations import parse_duration


class ConfigModel(BaseModel):
    class Config:
        extra = "forbid"
        allow_mutation = False
        json_encoders = {timedelta: lambda d: d.total_seconds()}


def duration(value: Any) -> timedelta:
    return parse_duration(value)
