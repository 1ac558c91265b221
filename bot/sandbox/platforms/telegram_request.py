"""Reading Bot API parameters and answering with Bot API errors.

python-telegram-bot posts form fields in which every non-string value is a JSON string
(`chat_id=42`, `reply_markup={"inline_keyboard": ...}`); other clients post JSON bodies with
native values. `Params` reads both the same way, and `ApiError` carries what Telegram would
answer: status code, description, and `parameters` such as `retry_after`.
"""
from __future__ import annotations

import json
from typing import Any, Mapping, Optional, Union

from bot.base.errors import AftercareError

ChatRef = Union[int, str]


class ApiError(AftercareError):
    """A Bot API error answer: `{"ok": false, "error_code": ..., "description": ...}`."""

    def __init__(self, code: int, description: str, parameters: Optional[dict] = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            data["parameters"] = self.parameters
        return data


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


def forbidden(reason: str) -> ApiError:
    return ApiError(403, f"Forbidden: {reason}")


def conflict(reason: str) -> ApiError:
    return ApiError(409, f"Conflict: {reason}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}",
                    {"retry_after": retry_after})


class Upload:
    """A file sent as multipart form data."""

    def __init__(self, filename: str, data: bytes) -> None:
        self.filename = filename
        self.data = data


class Params:
    """Typed access to one request's parameters; a bad or missing one is a 400 like Telegram's."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def raw(self) -> dict[str, Any]:
        return {k: v for k, v in self._values.items() if not isinstance(v, Upload)}

    def text(self, name: str, *, required: bool = False) -> Optional[str]:
        value = self._values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(f"{name} is empty")
            return None
        if isinstance(value, Upload):
            raise bad_request(f"{name} must be a string")
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str, *, required: bool = False, default: Optional[int] = None) -> Optional[int]:
        value = self._values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(f"{name} is empty")
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def number(self, name: str, default: float = 0.0) -> float:
        """A duration in seconds; PTB sends whole seconds as ints, fractions as floats."""
        value = self._values.get(name)
        if value is None or value == "":
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        value = self._values.get(name)
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def obj(self, name: str) -> Any:
        """A JSON-valued parameter (reply_markup, allowed_updates, ...), decoded."""
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return value

    def chat(self, name: str = "chat_id") -> ChatRef:
        """A chat id, or an `@username` string as the Bot API also accepts."""
        value = self._values.get(name)
        if value is None or value == "":
            raise bad_request(f"{name} is empty")
        if isinstance(value, str) and value.startswith("@"):
            return value
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None

    def upload_or_text(self, name: str) -> Union[Upload, str, None]:
        value = self._values.get(name)
        if isinstance(value, Upload) or value is None:
            return value
        return str(value)
