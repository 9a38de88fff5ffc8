"""The study's table as the console shows it (``musicrec study``, and ``musicrec run`` when its
rating stage studied the listening)."""

from __future__ import annotations

import math

SHOWN = (("hit_rate", "HitRate"), ("mrr", "MRR"), ("precision", "Prec"), ("recall", "Recall"),
         ("ndcg", "NDCG"))


def table_text(result: dict) -> str:
    """The paper's table: a row per backend x recommender, the test half's mean ± half the 95 %
    interval of each metric at 10 and 50; the validation NDCG@10 that chose last."""
    header = (["backend", "recommender"] + [f"{label}@{k}" for k in (10, 50) for _, label in SHOWN]
              + ["val NDCG@10"])
    lines = [[row["backend"], row["recommender"]]
             + [_figure(row["test"][f"{metric}@{k}"]) for k in (10, 50) for metric, _ in SHOWN]
             + [_figure(row["validation"]["ndcg@10"]) + (" *" if _is_choice(result, row) else "")]
             for row in result["rows"]]
    widths = [max(len(str(line[i])) for line in [header, *lines]) for i in range(len(header))]
    text = [f"study: {result['n_test']} test and {result['n_validation']} validation listening sessions "
            f"after the cut-off, {result['n_ranked']} songs ranked, songs to find: "
            f"{result['songs_to_find']} (mean ±95 % interval; test half)"]
    text += ["  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
             for line in [header, *lines]]
    text.append(f"* chosen on the validation half ({result['choose_by']}, vectors {result['in_use']})")
    text += [f"note: {c}" for c in result["caveats"]]
    return "\n".join(text)


def _is_choice(result: dict, row: dict) -> bool:
    return row["recommender"] == result["chosen"] and row["model_id"] == result["in_use"]


def _figure(v: dict) -> str:
    mean, low, high = v["mean"], v.get("low"), v.get("high")
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    if low is None or math.isnan(low):
        return f"{mean:.3f}"
    return f"{mean:.3f}±{(high - low) / 2:.3f}"
