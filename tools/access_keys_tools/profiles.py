"""Saved credentials: `$XDG_CONFIG_HOME/access-keys/credentials` (default ~/.config/...), mode 0600.

    [default]
    secret_id = AKID...
    secret_key = ...
    endpoint = https://...      (optional)

The file holds SecretKeys, so it is written owner-only and refused when anyone else can read it,
the way ssh treats a private key.
"""

from __future__ import annotations

import configparser
import os
import stat
from dataclasses import dataclass
from pathlib import Path


class ProfileError(Exception):
    """The profile file is missing a profile, unreadable or readable by others."""


@dataclass(frozen=True)
class Profile:
    name: str
    secret_id: str
    secret_key: str
    endpoint: str | None = None

    def __repr__(self) -> str:  # never the SecretKey
        return f"Profile(name={self.name!r}, secret_id={self.secret_id!r}, endpoint={self.endpoint!r})"


def profiles_path() -> Path:
    config_home = os.environ.get("XDG_CONFIG_HOME", "").strip() or str(Path.home() / ".config")
    return Path(config_home) / "access-keys" / "credentials"


def _read(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return parser
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ProfileError(f"{path} can be read by other users; run: chmod 600 {path}")
    try:
        parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    except (OSError, configparser.Error) as error:
        raise ProfileError(f"cannot read {path}: {error}") from None
    return parser


def load_profile(name: str, path: Path | None = None) -> Profile | None:
    """The named profile, or None when the file or the profile does not exist."""
    path = path or profiles_path()
    parser = _read(path)
    if not parser.has_section(name):
        return None
    section = parser[name]
    if not section.get("secret_id") or not section.get("secret_key"):
        raise ProfileError(f"profile {name!r} in {path} needs both secret_id and secret_key")
    return Profile(name, section["secret_id"], section["secret_key"], section.get("endpoint") or None)


def save_profile(profile: Profile, path: Path | None = None) -> Path:
    """Add or replace a profile; the file is rewritten whole, owner-only, and atomically."""
    path = path or profiles_path()
    parser = _read(path)
    values = {"secret_id": profile.secret_id, "secret_key": profile.secret_key}
    if profile.endpoint:
        values["endpoint"] = profile.endpoint
    parser[profile.name] = values
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # also when a stale temporary file was there
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            parser.write(stream)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
