"""How much a student keeps of its teacher: one comparison report (accuracy, or entity F1 and
F1 per type for taggers; parameters, size on disk, CPU latency per sample) and, for MetaKD, a
per-domain table."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from nlpfactory.config import to_dict
from nlpfactory.data.dataset import load_split, read_info
from nlpfactory.errors import InputError
from nlpfactory.models.card import read_card
from nlpfactory.predictor import load_predictor
from nlpfactory.stages.compare import CompareConfig
from nlpfactory.stages.domain_table import DomainTableConfig
from nlpfactory.tracking import NO_TRACKING, Tracker


def folder_megabytes(folder: str | Path) -> float:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file()) / 2**20


# The headline score of a task, as the evaluate stage names it, and how a report says it.
HEADLINE = {"classification": ("accuracy", "accuracy"), "sequence_labeling": ("entity_f1", "entity F1")}


def headline(task: str) -> tuple[str, str]:
    return HEADLINE.get(task, HEADLINE["classification"])


def latency_ms(model_dir: str | Path, texts: list[str], texts_b: list[str] | None = None) -> float:
    """Median milliseconds to answer one text alone (batch of 1), after one warm-up call: a
    classifier's probabilities, a tagger's tags per character."""
    predictor = load_predictor(model_dir, device="cpu")
    if predictor.card.get("task") == "sequence_labeling":
        def answer(i: int):
            return predictor.predict_tags(texts[i:i + 1])
    else:
        def answer(i: int):
            return predictor.predict_proba(texts[i:i + 1], texts_b[i:i + 1] if texts_b else None)
    answer(0)
    times = []
    for i in range(len(texts)):
        started = time.perf_counter()
        answer(i)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(model_dir: str | Path, scores: dict, texts, texts_b) -> dict:
    card = read_card(model_dir)
    return scores | {"parameters": int(card["parameters"]), "size_mb": round(folder_megabytes(model_dir), 2),
                     "latency_ms": round(latency_ms(model_dir, texts, texts_b), 3)}


def scores_to_compare(metrics: dict, task: str) -> dict:
    """The headline score from an evaluation's metrics, plus a tagger's F1 per entity type
    (`f1_PER`, ...); a missing headline is an error naming what the metrics hold."""
    key, _ = headline(task)
    if key not in metrics:
        raise InputError(f"the evaluation has no {key!r} to compare (it has {sorted(metrics)})", column=key,
                         fix=f"connect the evaluate stage's metrics of a {task} model")
    per_type = {k: float(v) for k, v in metrics.items() if task == "sequence_labeling" and k.startswith("f1_")}
    return {key: float(metrics[key])} | dict(sorted(per_type.items()))


def compare_models(cfg: CompareConfig, teacher_dir, student_dir, dataset_dir, teacher_metrics: dict,
                   student_metrics: dict, *, tracker: Tracker = NO_TRACKING) -> tuple[dict, str]:
    """({"teacher": {...}, "student": {...}, "ratios": {...}, "metric": ...}, Markdown report);
    the metrics are each model's evaluation on this Dataset (accuracy, or entity F1 and F1 per
    type for a tagger)."""
    info = read_info(dataset_dir)
    key, _ = headline(info.task)
    frame = load_split(dataset_dir, cfg.split).head(cfg.latency_samples)
    texts, texts_b = frame["text"].tolist(), frame["text_b"].tolist() if info.is_pair else None
    with tracker.stage_run("compare", to_dict(cfg)) as run:
        teacher = measure(teacher_dir, scores_to_compare(teacher_metrics, info.task), texts, texts_b)
        student = measure(student_dir, scores_to_compare(student_metrics, info.task), texts, texts_b)
        ratios = {
            f"retained_{key}_percent": 100 * student[key] / teacher[key] if teacher[key] else 0.0,
            "parameter_ratio": student["parameters"] / teacher["parameters"],
            "size_ratio": student["size_mb"] / teacher["size_mb"],
            "speedup": teacher["latency_ms"] / student["latency_ms"] if student["latency_ms"] else 0.0,
        }
        result = {"teacher": teacher, "student": student, "ratios": ratios, "task": info.task}
        report = comparison_report(result)
        run.log_metrics({f"{who}_{k}": v for who in ("teacher", "student") for k, v in result[who].items()} | ratios)
        run.log_text(report, "report.md")
    return result, report


def comparison_report(result: dict) -> str:
    t, s, r = result["teacher"], result["student"], result["ratios"]
    key, name = headline(result["task"])
    lines = ["# Teacher and student", "",
             f"| model | {name} | parameters | size on disk (MB) | CPU latency per sample (ms) |", "|---|---|---|---|---|",
             f"| teacher | {t[key]:.4f} | {t['parameters']:,} | {t['size_mb']:.1f} | {t['latency_ms']:.2f} |",
             f"| student | {s[key]:.4f} | {s['parameters']:,} | {s['size_mb']:.1f} | {s['latency_ms']:.2f} |", "",
             f"The student keeps **{r[f'retained_{key}_percent']:.1f}%** of the teacher's {name} with "
             f"{r['parameter_ratio']:.1%} of its parameters, and answers {r['speedup']:.1f}× faster."]
    types = [k for k in t if k.startswith("f1_")]
    if types:
        lines += ["", "| entity type | teacher F1 | student F1 |", "|---|---|---|"]
        lines += [f"| {k[3:]} | {t[k]:.4f} | {s.get(k, 0.0):.4f} |" for k in types]
    return "\n".join(lines) + "\n"


def domain_table(cfg: DomainTableConfig, domains: list[str], teacher_scores: list[dict], student_scores: list[dict],
                 *, tracker: Tracker = NO_TRACKING) -> tuple[dict, str]:
    """Per-domain teacher and student scores and the share the student keeps, plus the average.

    The three lists are in the same order (one entry per domain)."""
    if not len(domains) == len(teacher_scores) == len(student_scores):
        raise ValueError(f"one score per domain needed: {len(domains)} domains, {len(teacher_scores)} teacher "
                         f"and {len(student_scores)} student scores")
    metric = cfg.metric
    if metric == "auto":  # a tagger's evaluation has entity F1 and no accuracy
        metric = "entity_f1" if all("entity_f1" in m for m in teacher_scores + student_scores) else "accuracy"
    missing = sorted({d for d, t, s in zip(domains, teacher_scores, student_scores) if metric not in t or metric not in s})
    if missing:
        raise InputError(f"the evaluations of {missing} have no {metric!r}", column="metric",
                         fix="choose a score the evaluate stage wrote (accuracy or macro_f1 for classifiers, entity_f1 for taggers)")
    rows = {d: {"teacher": float(t[metric]), "student": float(s[metric])}
            for d, t, s in zip(domains, teacher_scores, student_scores)}
    for row in rows.values():
        row["retained_percent"] = 100 * row["student"] / row["teacher"] if row["teacher"] else 0.0
    average = {k: sum(r[k] for r in rows.values()) / len(rows) for k in ("teacher", "student")}
    average["retained_percent"] = 100 * average["student"] / average["teacher"] if average["teacher"] else 0.0
    lines = [f"# Per-domain {metric}: meta-teacher and MetaKD students", "",
             "| domain | teacher | student | retained |", "|---|---|---|---|"]
    lines += [f"| {d} | {r['teacher']:.4f} | {r['student']:.4f} | {r['retained_percent']:.1f}% |" for d, r in rows.items()]
    lines.append(f"| **average** | {average['teacher']:.4f} | {average['student']:.4f} | {average['retained_percent']:.1f}% |")
    report = "\n".join(lines) + "\n"
    flat = {f"{who}_{d}": r[who] for d, r in rows.items() for who in ("teacher", "student")}
    flat |= {f"retained_percent_{d}": r["retained_percent"] for d, r in rows.items()}
    flat |= {f"average_{k}": v for k, v in average.items()}
    with tracker.stage_run("domain_table", to_dict(cfg)) as run:
        run.log_metrics(flat)
        run.log_text(report, "report.md")
    return {"domains": rows, "average": average, "flat": flat}, report
