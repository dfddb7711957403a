"""Configuration errors that name the file, the key path, the bad value and the choices."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path


class ConfigError(ValueError):
    """A user mistake in a theory, typology, population or scenario file.

    The message is one paragraph meant for a person: which file, which key, what was
    wrong with the value, and what would have been valid. The CLI prints it without a
    traceback and exits with code 2.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | Path | None = None,
        key: str | None = None,
        value: object = None,
        choices: Iterable[str] | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.key = key
        self.value = value
        self.choices = sorted(choices) if choices is not None else None
        self.problem = problem
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = []
        if self.file:
            where.append(f"in {self.file}")
        if self.key:
            where.append(f"at key '{self.key}'")
        head = " ".join(where)
        msg = f"{head}: {self.problem}" if head else self.problem
        if self.value is not None:
            msg += f" (got {self.value!r})"
        if self.choices is not None:
            hint = did_you_mean(str(self.value if self.value is not None else self.key), self.choices)
            if hint:
                msg += f"; did you mean '{hint}'?"
            shown = ", ".join(self.choices[:40]) + (" …" if len(self.choices) > 40 else "")
            msg += f" Valid choices: {shown}."
        elif not msg.endswith("."):
            msg += "."
        return msg

    def located(self, file: str | Path) -> ConfigError:
        """Return a copy of this error with the file filled in (if it was missing)."""
        if self.file:
            return self
        return ConfigError(self.problem, file=file, key=self.key, value=self.value, choices=self.choices)


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """Closest valid choice to a misspelt word, or None."""
    last = word.split(".")[-1]
    matches = difflib.get_close_matches(last, list(choices), n=1, cutoff=0.6)
    if not matches:
        matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None
