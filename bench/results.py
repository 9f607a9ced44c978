"""A benchmark figure beside its baseline, and the report files."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Result:
    name: str
    value: float
    unit: str
    baseline: float | None = None  # measured in the same run; None for an absolute target
    target: str = ""  # e.g. "ratio >= 10", "value <= 100", "" for information
    note: str = ""
    machine: float | None = None  # bench.calibrate's speed, timed just before this row's benchmark

    @property
    def ratio(self) -> float | None:
        return None if not self.baseline else self.value / self.baseline

    @property
    def met(self) -> bool | None:
        if not self.target:
            return None
        subject, op, bound = self.target.split()
        x = self.ratio if subject == "ratio" else self.value
        if x is None:
            return False
        return x >= float(bound) if op == ">=" else x <= float(bound)

    def row(self) -> dict:
        return {**asdict(self), "ratio": self.ratio, "met": self.met}


def write_reports(results: list[Result], out: Path, title: str, copy_as: str | None = None) -> str:
    """``latest.{json,md,png}``, and the same under ``copy_as`` (``full``, ``quick``) so one
    kind of run does not overwrite the other's record."""
    out.mkdir(parents=True, exist_ok=True)
    table = markdown(results, title)
    for name in ["latest"] + ([copy_as] if copy_as else []):
        (out / f"{name}.json").write_text(json.dumps([r.row() for r in results], indent=2))
        (out / f"{name}.md").write_text(table)
        chart(results, out / f"{name}.png", title)
    return table


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def markdown(results: list[Result], title: str) -> str:
    lines = [
        f"# {title}",
        "",
        "| benchmark | value | unit | baseline | ratio | target | met | machine |",
        "|---|---:|---|---:|---:|---|---|---:|",
    ]
    for r in results:
        met = {True: "yes", False: "**no**", None: ""}[r.met]
        lines.append(
            f"| {r.name} | {_fmt(r.value)} | {r.unit} | {_fmt(r.baseline)} | {_fmt(r.ratio)} | {r.target} | {met} "
            f"| {_fmt(r.machine)} |"
        )
    notes = [
        "- machine: thousands of pure-Python calibration loops a second (bench/calibrate.py), timed"
        " just before each benchmark: figures from machines that differ here are not comparable as"
        " they stand, ratios to a baseline of the same run are."
    ]
    notes += [f"- {r.name}: {r.note}" for r in results if r.note]
    return "\n".join([*lines, *([""] if notes else []), *notes]) + "\n"


def chart(results: list[Result], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in results if r.ratio is not None]
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(rows) + 1.5))
    colors = ["tab:green" if r.met else "tab:red" if r.met is False else "tab:gray" for r in rows]
    ax.barh([r.name for r in rows], [r.ratio or 0.0 for r in rows], color=colors)
    ax.set_xscale("log")
    ax.set_xlabel("ratio to the baseline measured in the same run (log scale)")
    ax.set_title(title)
    ax.invert_yaxis()
    for i, r in enumerate(rows):
        ax.text(r.ratio or 0.0, i, f" {r.ratio:.2f}", va="center")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
