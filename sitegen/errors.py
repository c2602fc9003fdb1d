"""One small error hierarchy; the CLI turns these into messages and exit codes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class SitegenError(Exception):
    """Base of every error a user should see as a message, not a traceback."""

    exit_code = 1


class ConfigError(SitegenError):
    """The configuration or command line is wrong."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One problem in one file: what `check` and a failed build list."""

    path: Path | str
    line: int | None
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        return f"{where}: {self.severity}: {self.message}"


class ContentError(SitegenError):
    """One or more articles are invalid."""

    def __init__(self, problems: list[Problem] | Problem):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple:  # crosses processes whole (the preview's build host)
        return type(self), (self.problems,)


class TemplateError(SitegenError):
    """One or more layouts failed to load or render."""

    def __init__(self, problems: list[Problem] | Problem):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple:  # crosses processes whole (the preview's build host)
        return type(self), (self.problems,)
