"""The agreement report as lines for a person (the CLI without --json, the GUI's summary)."""

from __future__ import annotations

from typing import Any


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def agreement_text(r: dict[str, Any]) -> str:
    lines = [
        f"scale: {r['scale']} ({r['kind']}); readers: {', '.join(r['readers'])}; "
        f"images rated by two or more: {r['images']}",
    ]
    for p in r["pairs"]:
        line = f"  {p['readers'][0]} vs {p['readers'][1]}: n={p['n']}, "
        line += f"quadratic kappa {_fmt(p['kappa_quadratic'])}"
        if "mad" in p:
            ba = p["bland_altman"] or {}
            line += f", MAD {_fmt(p['mad'])}, Bland-Altman bias {_fmt(ba.get('bias'))} "
            line += f"[{_fmt(ba.get('lower'))}, {_fmt(ba.get('upper'))}]"
        lines.append(line)
    lines.append(f"Fleiss' kappa: {_fmt(r['fleiss_kappa'])}")
    lines.append(f"Krippendorff's alpha: {_fmt(r['krippendorff_alpha'])}")
    if r["icc"]:
        for key, title in (("icc2_1", "ICC(2,1)"), ("icc3_1", "ICC(3,1)")):
            v = r["icc"][key]
            lo, hi = v["ci95"]
            lines.append(f"{title}: {_fmt(v['value'])} (95% CI {_fmt(lo)} to {_fmt(hi)})")
    m = r["model"]
    if m:
        mean = m["to_readers_mean"]
        lines.append(
            f"model vs readers' mean: RMSE {_fmt(mean['rmse'])}, MAE {_fmt(mean['mae'])} "
            f"(n={mean['n']}); within the readers' spread: {m['within_readers_spread']}"
        )
        for name, v in m["readers_leave_one_out"].items():
            lines.append(
                f"  {name} vs the others' mean: RMSE {_fmt(v['rmse'])}, MAE {_fmt(v['mae'])}"
            )
    for b in r["boxes"] or []:
        lines.append(
            f"boxes {b['readers'][0]} vs {b['readers'][1]}: F1@0.5 {_fmt(b['f1'])} "
            f"over {b['images']} image(s)"
        )
    lines.append(f"images the readers grade differently: {len(r['disagreements'])}")
    return "\n".join(lines)
