"""Domain errors raised by services; handlers and ``@app.error`` turn them into messages."""

from __future__ import annotations

from typing import TypeAlias

Message: TypeAlias = "str | Msg"


class LiaisonError(Exception):
    """Base of every error a user may be told about."""


class ValidationError(LiaisonError):
    """Bad input: ``errors`` maps a field name to a message shown next to that field."""

    def __init__(self, errors: dict[str, Message]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


class PermissionDenied(LiaisonError):
    """The acting user may not do this; ``reason`` is shown to them."""

    def __init__(self, reason: Message) -> None:
        super().__init__(str(reason))
        self.reason = reason


class NotFound(LiaisonError):
    """A project, key user or other record does not exist in this workspace."""

    def __init__(self, message: Message) -> None:
        super().__init__(str(message))
        self.message = message


class Msg:
    """A catalog message key with its parameters, translated where the user's locale is known."""

    def __init__(self, key: str, **params: object) -> None:
        self.key = key
        self.params = params

    def __repr__(self) -> str:
        return f"Msg({self.key!r}, {self.params!r})"

    def __str__(self) -> str:
        return self.key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Msg) and (self.key, self.params) == (other.key, other.params)
