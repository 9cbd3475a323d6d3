"""Whole-number settings read from the environment (FER_MAX_STREAMS, FER_ANALYSIS_SLOTS,
FER_TURN_TTL): one parser, so every bad value gets the same kind of message naming the setting."""

from __future__ import annotations

from fer_core.errors import ConfigError


def whole_number(name: str, raw: str | None, *, default: int, minimum: int, maximum: int | None = None,
                 expected: str, error: type[ConfigError] = ConfigError) -> int:
    """`raw` (None or blank: `default`) as an int in [minimum, maximum]; otherwise `error`
    saying "`name` must be `expected`, got ...". """
    text = (raw or "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise error(f"{name} must be {expected}, got {text!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        raise error(f"{name} must be {expected}, got {text!r}")
    return value


__all__ = ["whole_number"]
