"""A validation result people can read: which expectations failed, on what, with examples."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULT_FILE = "gx_result.json"
REPORT_FILE = "validation_report.md"


@dataclass
class FailedExpectation:
    table: str  # frames | episodes
    expectation: str  # GX type, e.g. expect_column_values_to_be_between
    why: str  # the rule in words
    column: str | None
    unexpected_count: int | None
    examples: list[Any]
    observed: Any = None
    error: str | None = None

    def line(self) -> str:
        where = f" [{self.column}]" if self.column else ""
        text = f"{self.table}{where}: {self.why} ({self.expectation})"
        if self.error:
            return f"{text}: could not be checked: {self.error}"
        if self.unexpected_count:
            text += f": {self.unexpected_count} rows violate it, e.g. {self.examples[:5]}"
        elif self.observed is not None:
            text += f": observed {self.observed}"
        return text


@dataclass
class ValidationReport:
    dataset: str
    success: bool
    evaluated: int
    failures: list[FailedExpectation] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)  # table -> GX ExpectationSuiteValidationResult as JSON

    def failed_expectations(self) -> list[str]:
        return [f.expectation for f in self.failures]

    def text(self) -> str:
        if self.success:
            return f"dataset {self.dataset}: all {self.evaluated} expectations passed"
        lines = [f"dataset {self.dataset}: {len(self.failures)} of {self.evaluated} expectations failed:"]
        lines += [f"  - {f.line()}" for f in self.failures]
        return "\n".join(lines)

    __str__ = text

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "success": self.success,
            "evaluated": self.evaluated,
            "failures": [f.__dict__ for f in self.failures],
            "report": self.text(),
            "gx_results": self.results,
        }

    def save(self, directory: str | Path) -> Path:
        """Write the GX result (JSON) and the readable report (Markdown) into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / RESULT_FILE).write_text(json.dumps(self.to_dict(), indent=2, default=str))
        (directory / REPORT_FILE).write_text(f"# Dataset validation\n\n{self.text()}\n")
        return directory


class DatasetValidationError(ValueError):
    """The dataset failed validation; ``.report`` holds the details."""

    def __init__(self, report: ValidationReport):
        super().__init__(report.text())
        self.report = report


def failures_from(table: str, result: Any) -> list[FailedExpectation]:
    out = []
    for item in result.results:
        if item.success:
            continue
        config, details = item.expectation_config, item.result or {}
        info = item.exception_info or {}
        if "raised_exception" not in info:  # GX nests exception info per metric when it is not flat
            info = next((v for v in info.values() if isinstance(v, dict)), {})
        error = info.get("exception_message") if info.get("raised_exception") else None
        kwargs = config.kwargs
        out.append(
            FailedExpectation(
                table=table,
                expectation=config.type,
                why=(config.meta or {}).get("why", config.type),
                column=kwargs.get("column")
                or (f"{kwargs['column_A']} = {kwargs['column_B']}" if "column_A" in kwargs else None),
                unexpected_count=details.get("unexpected_count"),
                examples=_plain(details.get("partial_unexpected_list", [])),
                observed=_plain(details.get("observed_value")),
                error=error,
            )
        )
    return out


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
