"""The one exception hierarchy: every error supplyline raises on purpose derives from SupplylineError.

Messages say what went wrong *and what to do*; the CLI prints them without a traceback and exits with the
class's ``exit_code`` (documented in docs/cli.md).
"""

from __future__ import annotations


class SupplylineError(Exception):
    """Root of every deliberate supplyline error.

    ``details`` (optional, JSON-ready) is what the message summarises, e.g. every input's result; the CLI
    prints it only with ``--json``, so the message itself stays short enough to read.
    """

    exit_code: int = 1
    details: object = None

    def with_details(self, details: object) -> SupplylineError:
        """This error carrying ``details`` (returned, for ``raise InputError(...).with_details(...)``)."""
        self.details = details
        return self


class UsageError(SupplylineError):
    """The command was called wrongly (bad option value, missing argument)."""

    exit_code = 2


class StoreError(SupplylineError):
    """The store folder is missing, locked or not a supplyline store."""

    exit_code = 3


class InputError(SupplylineError):
    """An input file cannot be read at all (unreadable, truncated archive, unknown format)."""

    exit_code = 4


class FormatError(InputError):
    """The format of an input could not be detected or does not match what was asked for."""


class CaseError(SupplylineError):
    """A case folder (case.toml, claims.csv, observations.csv, scenario.toml) has problems.

    ``problems`` holds every problem found as ``(file, line, message)`` so all can be shown at once.
    """

    exit_code = 5

    def __init__(self, message: str, problems: list[tuple[str, int | None, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class EngineError(SupplylineError):
    """A detection engine (local or Spark) could not run."""

    exit_code = 6


class DependencyError(SupplylineError):
    """An optional dependency is missing; the message names the extra to install."""

    exit_code = 7


class StoreWarning(UserWarning):
    """Something in the store was skipped (e.g. a folder under ``tables/`` that is not a table name)."""
