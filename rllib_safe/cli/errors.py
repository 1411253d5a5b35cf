"""How the commands print bad input: ``rllib-safe COMMAND: ...`` on stderr, exit status 2."""

from __future__ import annotations

import sys

from pydantic import ValidationError

from rllib_safe.runs.options import flag


def describe_errors(error: ValidationError) -> str:
    """One line per error: flag, value given, what is allowed."""
    lines = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        where = f"{flag(field)} = {item['input']!r}: " if field else ""
        lines.append(f"{where}{item['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)


def usage_error(command: str, error: Exception) -> int:
    """Prints ``error`` as ``rllib-safe COMMAND: ...`` on stderr (flag by flag for pydantic); returns 2."""
    if isinstance(error, ValidationError):
        message = f"invalid arguments:\n{describe_errors(error)}"
    else:
        message = str(error)
    print(f"rllib-safe {command}: {message}", file=sys.stderr)
    return 2
