"""Reading TOML files with errors that name the file."""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sim.errors import ConfigError


def read_toml(path: str | Path) -> tuple[dict[str, Any], str]:
    """Return (parsed content, sha256 of the bytes) or raise ConfigError naming the file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError("file not found", file=p)
    data = p.read_bytes()
    try:
        content = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
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
    names = {str: "a string", int: "a whole number", float: "a number", bool: "true or false",
             dict: "a table", list: "a list"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)
