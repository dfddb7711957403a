"""Reading TOML files with errors that name the file."""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sim.errors import ConfigError


def read_toml(path: str | Path) -> tuple[dict[str, Any], str]:
    """Return (parsed content, sha256 of the bytes) or raise ConfigError naming the file.

    A UTF-8 byte-order mark (which some Windows editors write) is accepted.
    """
    p = Path(path)
    if p.is_dir():
        raise ConfigError("this is a folder, not a file", file=p)
    if not p.exists():
        raise ConfigError("file not found", file=p)
    try:
        data = p.read_bytes()
    except OSError as exc:
        hint = "; check the file's permissions" if isinstance(exc, PermissionError) else ""
        raise ConfigError(f"cannot read the file: {exc.strerror or exc}{hint}", file=p) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte {exc.start} cannot be decoded): is it a TOML file? Save it as UTF-8", file=p
        ) from None
    try:
        content = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=p) from None
    return content, hashlib.sha256(data).hexdigest()


def reject_unknown(table: Mapping[str, Any], allowed: Iterable[str], *, file: str, prefix: str) -> None:
    """Raise ConfigError for the first key of ``table`` not in ``allowed``."""
    allowed = set(allowed)
    for key in table:
        if key not in allowed:
            path = f"{prefix}.{key}" if prefix else key
            raise ConfigError("unknown key", file=file, key=path, value=key, choices=allowed)


def require(table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], *, file: str, prefix: str) -> Any:
    """Return ``table[key]`` checked against ``kind``, or raise naming the missing/bad key."""
    path = f"{prefix}.{key}" if prefix else key
    if key not in table:
        raise ConfigError("missing field", file=file, key=path)
    value = table[key]
    if isinstance(value, bool) and kind is not bool and not (isinstance(kind, tuple) and bool in kind):
        raise ConfigError(f"expected {_kind_name(kind)}", file=file, key=path, value=value)
    if not isinstance(value, kind):
        raise ConfigError(f"expected {_kind_name(kind)}", file=file, key=path, value=value)
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "a whole number",
        float: "a number",
        bool: "true or false",
        dict: "a table",
        list: "a list",
    }
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)
