"""User-facing errors: each renders as one line naming the thing at fault and what to do."""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class InpaintzooError(Exception):
    """A mistake by the user (bad file, key, argument); the CLI prints it as one line, exit status 2."""

    exit_code = 2


class SpecError(InpaintzooError):
    """One or more problems in a spec; each problem is its own line."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


class RegistryError(InpaintzooError):
    pass


class PluginError(InpaintzooError):
    pass


class LoadError(InpaintzooError):
    pass


class InputError(InpaintzooError):
    """Bad image, mask or argument handed to a model call."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean 'x'?)' suffix, or '' when nothing is close."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


def choices_text(choices: Iterable[str], limit: int = 12) -> str:
    items = sorted(choices)
    shown = ", ".join(items[:limit])
    return shown + (f", … ({len(items)} in all)" if len(items) > limit else "")
