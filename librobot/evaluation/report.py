"""The evaluation report: report.json (numbers), report.md (tables) and plots/*.png (matplotlib)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from librobot.choices import ActionMode


def write_report(report: Mapping[str, Any], output: str | Path) -> Path:
    """Write report.json, the plots and report.md under ``output``; returns the JSON path."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    plots = _plots(report, output / "plots")
    report = {**report, "plots": {k: str(v.relative_to(output)) for k, v in plots.items()}}
    path = output / "report.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    (output / "report.md").write_text(_markdown(report))
    return path


def _plots(report: Mapping[str, Any], folder: Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    per_task = report.get("per_task") or {}
    if per_task:
        tasks = list(per_task)
        rates = [per_task[t]["success_rate"] for t in tasks]
        lo = [r - per_task[t]["ci95"][0] for r, t in zip(rates, tasks, strict=True)]
        hi = [per_task[t]["ci95"][1] - r for r, t in zip(rates, tasks, strict=True)]
        fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(tasks) + 2), 3.6), dpi=100)
        ax.bar(range(len(tasks)), rates, yerr=[lo, hi], capsize=4, color="#4C72B0")
        ax.set_xticks(range(len(tasks)), tasks, rotation=20, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("success rate (95% Wilson CI)")
        ax.set_title(f"closed loop: {report['success_rate']:.0%} overall, {report['episodes']} episodes")
        fig.tight_layout()
        out["success"] = folder / "success_per_task.png"
        fig.savefig(out["success"])
        plt.close(fig)

        fig, ax = plt.subplots(figsize=(5.0, 3.4), dpi=100)
        for task in tasks:
            lengths = [e["length"] for e in per_task[task]["episodes_detail"]]
            ax.hist(lengths, bins=10, alpha=0.6, label=task)
        ax.set_xlabel("episode length (control steps)")
        ax.set_ylabel("episodes")
        ax.legend(fontsize=7)
        fig.tight_layout()
        out["lengths"] = folder / "episode_lengths.png"
        fig.savefig(out["lengths"])
        plt.close(fig)
    offline = report.get("offline")
    if offline and offline.get("l1_per_dim"):
        dims = list(offline["l1_per_dim"])
        fig, ax = plt.subplots(figsize=(max(4.0, 0.5 * len(dims) + 2), 3.4), dpi=100)
        ax.bar(range(len(dims)), [offline["l1_per_dim"][d] for d in dims], color="#55A868")
        ax.set_xticks(range(len(dims)), dims, rotation=30, ha="right")
        ax.set_ylabel("L1 error (robot units)")
        ax.set_title(f"held-out action error, first {offline['executed_steps']} steps of each chunk")
        fig.tight_layout()
        out["offline"] = folder / "offline_l1_per_dim.png"
        fig.savefig(out["offline"])
        plt.close(fig)
    return out


def _execution(report: Mapping[str, Any]) -> str:
    if report.get("action_mode") == ActionMode.ENSEMBLE:
        return f"a chunk every step, temporally ensembled (decay {report['ensemble_decay']})"
    return f"{report['execute_steps']} actions executed per predicted chunk"


def _markdown(report: Mapping[str, Any]) -> str:
    lines = [f"# Evaluation of `{report['policy']}`", ""]
    if report.get("per_task"):
        lo, hi = report["success_ci95"]
        lines += [
            f"Closed loop in `{report['env']}`: **{report['success_rate']:.1%}** success over "
            f"{report['episodes']} episodes (95% CI {lo:.1%} to {hi:.1%}), "
            f"{_execution(report)}, seeds from {report['seed']}.",
            "",
            "| task | success | 95% CI | episodes | mean length | mean length (successes) |",
            "|---|---|---|---|---|---|",
        ]
        for task, r in report["per_task"].items():
            succ_len = r["mean_length_success"]
            lines.append(
                f"| {task} | {r['success_rate']:.0%} | {r['ci95'][0]:.0%} to {r['ci95'][1]:.0%} | {r['episodes']} "
                f"| {r['mean_length']:.1f} | {'-' if succ_len is None else f'{succ_len:.1f}'} |"
            )
        lines.append("")
    if report.get("groups"):
        lines += [f"By difficulty ({report['protocol']} protocol):", "", "| group | success | 95% CI | tasks |"]
        lines.append("|---|---|---|---|")
        for group, g in report["groups"].items():
            lines.append(
                f"| {group} | {g['success_rate']:.0%} | {g['ci95'][0]:.0%} to {g['ci95'][1]:.0%} | {len(g['tasks'])} |"
            )
        lines.append("")
    offline = report.get("offline")
    if offline and offline.get("l1") is not None:
        lines += [
            f"Offline, {offline['samples']} held-out frames of {offline['episodes']} episodes, first "
            f"{offline['executed_steps']} actions of each chunk: L1 {offline['l1']:.4f}, MSE {offline['mse']:.5f} "
            "(robot units).",
            "",
            "| dimension | unit | L1 | MSE |",
            "|---|---|---|---|",
        ]
        for dim, l1 in offline["l1_per_dim"].items():
            unit = offline["units"].get(dim, "")
            lines.append(f"| {dim} | {unit} | {l1:.4f} | {offline['mse_per_dim'][dim]:.5f} |")
        lines.append("")
    for name, rel in (report.get("plots") or {}).items():
        lines.append(f"![{name}]({rel})")
    videos = [v for r in (report.get("per_task") or {}).values() for v in r.get("videos", [])]
    if videos:
        lines += ["", "Videos: " + ", ".join(f"[{Path(v).name}]({v})" for v in videos)]
    return "\n".join(lines) + "\n"
