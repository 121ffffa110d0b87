"""Rules on input values, shared by the HTTP routes and the admin command."""

from __future__ import annotations

import json
import re
from typing import Any

from access_keys.domain import Status
from access_keys.errors import InvalidParameter, InvalidParameterValue, MissingParameter, UnknownParameter
from access_keys.signing import SECRET_ID_PATTERN

DESCRIPTION_MAX_CHARS = 1024
# Letters (any script), digits, space and + = , . @ : / - _
_DESCRIPTION = re.compile(r"[\w +=,.@:/-]*")
_UIN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def description(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidParameter("Description must be a string.")
    if len(value) > DESCRIPTION_MAX_CHARS:
        raise InvalidParameterValue(f"Description must be at most {DESCRIPTION_MAX_CHARS} characters.")
    if not _DESCRIPTION.fullmatch(value):
        raise InvalidParameterValue(
            "Description may hold only letters, digits, spaces and the characters + = , . @ : / - _"
        )
    return value


def status(value: Any) -> Status:
    if not isinstance(value, str):
        raise InvalidParameter("Status must be a string.")
    try:
        return Status(value)
    except ValueError:
        raise InvalidParameterValue("Status must be Active or Inactive.") from None


def secret_id(value: Any, name: str = "SecretId") -> str:
    if not isinstance(value, str) or not SECRET_ID_PATTERN.fullmatch(value):
        raise InvalidParameterValue(f"{name} must be AKID followed by 32 letters and digits.")
    return value


def uin(value: Any) -> str:
    if not isinstance(value, str) or not _UIN.fullmatch(value):
        raise InvalidParameterValue("Uin must be 1 to 64 letters, digits, '-' or '_'.")
    return value


def fields(document: dict[str, Any], *, allowed: frozenset[str], required: frozenset[str] = frozenset()) -> None:
    """Check a request's field names: none this route does not take, none it needs missing."""
    unknown = sorted(set(document) - allowed)
    if unknown:
        # The caller's own field name, quoted and escaped: a lone surrogate in it could not be
        # written to a log, and control characters would forge log lines.
        raise UnknownParameter(f"This action does not take the parameter {json.dumps(unknown[0])}.")
    missing = sorted(required - set(document))
    if missing:
        raise MissingParameter(f"The parameter {missing[0]} is required.")
