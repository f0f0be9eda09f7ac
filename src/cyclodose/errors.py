"""Domain errors: every user-facing problem names the field and the reason."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class CaseError(ValueError):
    """Input that cannot be used. The CLI maps it to exit code 2, the API to HTTP 422."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))

    @classmethod
    def single(cls, field: str, reason: str) -> CaseError:
        return cls([Problem(field, reason)])
