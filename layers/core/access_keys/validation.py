"""Rules on input values, and how a route declares its input with them: shared by the REST routes
(`access_keys.rest`), Tencent Cloud API 3.0 (`access_keys.cloud_api`), the verification
(`access_keys.verification`) and the operator's commands."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Field:
    """One input field a route takes: the check that turns its value into what the operation gets
    (raising InvalidParameter for a wrong type, InvalidParameterValue for a wrong value)."""

    check: Callable[[Any], Any]
    required: bool = True


def checked(document: Mapping[str, Any], fields: Mapping[str, Field], *, noun: str = "action") -> dict[str, Any]:
    """The document's fields, checked in the contract's order: first the names (none this route does
    not take), then presence (none it needs missing), then each value, in the order declared.
    Returns the checked values of the fields present."""
    unknown = sorted(set(document) - set(fields))
    if unknown:
        # The caller's own field name, quoted and escaped: a lone surrogate in it could not be
        # written to a log, and control characters would forge log lines.
        raise UnknownParameter(f"This {noun} does not take the parameter {json.dumps(unknown[0])}.")
    missing = [name for name, field in fields.items() if field.required and name not in document]
    if missing:
        raise MissingParameter(f"The parameter {missing[0]} is required.")
    return {name: field.check(document[name]) for name, field in fields.items() if name in document}
