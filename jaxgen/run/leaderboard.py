"""The cross-family leaderboard: every entry trained (or reused) through the run shell, measured
under one protocol, written as leaderboard.md, leaderboard.html and leaderboard.json.

An entry is a config (`module.py:variant`) with a label. Per entry, in its own workdir under
the leaderboard's: the run (a finished one is reused, an unfinished one resumes), its test
log-likelihood with the protocol it was measured under (likelihood.json, written by the
engine), the sample metrics of `jaxgen.run.evaluate` against the feature net (FID, KID,
precision / recall, density / coverage, beside the real-data floor), the number of parameters,
the training wall time and the sampling speed. A finished entry is recorded in
entries/LABEL.json, so a killed leaderboard redoes only the unfinished ones. Likelihood tables
are grouped by protocol (test set checksum, examples, discrete or continuous) and never mix two.
"""

import base64
import dataclasses
import html
import json
import math
import os
import re
import time
from collections.abc import Callable

import jax
import numpy as np

from jaxgen import rng as rng_lib
from jaxgen.eval import suite
from jaxgen.eval.likelihood import LikelihoodResult
from jaxgen.eval.likelihood import table as likelihood_table
from jaxgen.eval.options import default_options
from jaxgen.run import evaluate as evaluate_lib
from jaxgen.run import workdirs
from jaxgen.run.shell import train_and_evaluate

SPEED_SAMPLES = 256  # samples drawn (after one compiling call) to time sampling


@dataclasses.dataclass(frozen=True)
class Entry:
    label: str  # the row's name, e.g. "RBM (PCD-1)"
    config: Callable[[], object]  # () -> the locked config of this entry


def slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def _json(path: str):
    with open(path) as f:
        return json.load(f)


def _write_json(path: str, value) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f, indent=2, default=float)
    os.replace(tmp, path)  # atomic: a killed leaderboard never leaves half an entry


def _sample_options(feature_net: str, num_samples: int):
    o = default_options()
    o.metrics = ("fid", "kid", "precision_recall", "density_coverage")
    o.feature_net = feature_net
    o.num_samples = num_samples
    o.kid_subsets = 20
    o.kid_subset_size = max(2, min(1000, num_samples // 2))
    return o


def _num_parameters(params) -> int:
    return int(sum(np.size(x) for x in jax.tree.leaves(params)))


def _samples_per_second(family, params) -> float:
    sample = jax.jit(family.sample, static_argnums=2)
    key = jax.random.key(0)
    jax.block_until_ready(sample(params, key, SPEED_SAMPLES))  # compile
    t0 = time.perf_counter()
    jax.block_until_ready(sample(params, rng_lib.stream(key, "timed"), SPEED_SAMPLES))
    return SPEED_SAMPLES / (time.perf_counter() - t0)


def _sample_grid(workdir: str) -> str | None:
    """The run's final sample grid (stepped: the last samples/step_N.png; one-call: samples.png)."""
    one = os.path.join(workdir, "samples.png")
    if os.path.exists(one):
        return one
    folder = os.path.join(workdir, "samples")
    steps = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    return os.path.join(folder, steps[-1]) if steps else None


def _trained(config, workdir: str) -> dict:
    """The final metrics of the run in `workdir`: a finished run (final_metrics.json) is reused
    as it is, without building its data; otherwise it is trained or resumed there."""
    final = workdirs.final_metrics(workdir)
    return final if final is not None else train_and_evaluate(config, workdir)


def run_entry(entry: Entry, root: str, feature_net: str | None, num_samples: int, progress: bool,
              workdir: str | None = None) -> dict:
    """Train or reuse, then measure one entry; the record is also saved in root/entries/. The run
    lives in root/LABEL unless `workdir` names an existing one (read only: the leaderboard's
    own outputs go to root/evals/LABEL)."""
    record_path = os.path.join(root, "entries", f"{slug(entry.label)}.json")
    if os.path.exists(record_path):
        return _json(record_path)
    config = entry.config()
    workdir = workdir or os.path.join(root, slug(entry.label))
    t0 = time.perf_counter()
    final = _trained(config, workdir)
    record = {"label": entry.label, "family": config.family, "workdir": workdir,
              "train_seconds": final.get("train_seconds_this_session", final.get("fit_seconds", time.perf_counter() - t0))}
    lik_path = os.path.join(workdir, "likelihood.json")
    record["likelihood"] = _json(lik_path) if os.path.exists(lik_path) else None
    family = evaluate_lib.build_family(workdir, config)
    params, _ = evaluate_lib.load_params(workdir, config, family)
    record["num_parameters"] = _num_parameters(params)
    image = len(workdirs.load_spec(workdir).shape) == 3
    if family.sample is not None:
        record["samples_per_second"] = _samples_per_second(family, params)
        if image and feature_net:
            out = evaluate_lib.evaluate(_sample_options(feature_net, num_samples),
                                        os.path.join(root, "evals", slug(entry.label)), workdir=workdir,
                                        progress=progress)
            record["sample_metrics"] = {k: v for k, v in out["metrics"].items() if isinstance(v, float)}
            record["sample_protocol"] = dataclasses.asdict(out["protocol"])
    record["samples_png"] = _sample_grid(workdir)
    os.makedirs(os.path.dirname(record_path), exist_ok=True)
    _write_json(record_path, record)
    return record


def floor(root: str, dataset: str, feature_net: str, num_samples: int, progress: bool) -> dict:
    path = os.path.join(root, "entries", "_real_data_floor.json")
    if os.path.exists(path):
        return _json(path)
    out = evaluate_lib.evaluate(_sample_options(feature_net, num_samples), os.path.join(root, "floor"),
                                real_data=dataset, progress=progress)
    record = {"label": "real data (floor)", "sample_metrics": {k: v for k, v in out["metrics"].items()
                                                              if isinstance(v, float)},
              "sample_protocol": dataclasses.asdict(out["protocol"]), "samples_png": os.path.join(root, "floor",
                                                                                                 "samples.png")}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    _write_json(path, record)
    return record


def _likelihood_groups(records: list[dict]) -> list[tuple[str, list[tuple[str, LikelihoodResult]]]]:
    """Rows grouped by protocol (one table each), titled by what was measured."""
    groups: dict[str, list] = {}
    for r in records:
        if not r.get("likelihood"):
            continue
        result = LikelihoodResult(**r["likelihood"])
        groups.setdefault(json.dumps(result.protocol(), sort_keys=True), []).append((r["label"], result))
    out = []
    for rows in groups.values():
        t = rows[0][1].test
        if t.get("unit") == "character":
            title = f"{t['data']}: test log-likelihood per character, {t['units']} characters"
            out.append((title, sorted(rows, key=lambda row: -row[1].log_likelihood)))
            continue
        kind = ("binarised (the protocol's fixed binarisation)" if t["binarized"] else
                f"{t['num_bins']} grey levels" if t["num_bins"] and rows[0][1].discrete else "continuous values")
        title = f"{t['data']}, {kind}: test log-likelihood, {t['test_examples']} test examples"
        out.append((title, sorted(rows, key=lambda row: -row[1].log_likelihood)))
    return out


SAMPLE_COLUMNS = ("fid", "kid", "precision", "recall", "density", "coverage")


def _sample_rows(records: list[dict]) -> list[dict]:
    rows = [r for r in records if r.get("sample_metrics")]
    if rows:
        first = suite.Protocol(**rows[0]["sample_protocol"])
        for r in rows[1:]:
            if not suite.Protocol(**r["sample_protocol"]).comparable(first):
                raise ValueError(f"{r['label']!r}: sample metrics under another protocol than {rows[0]['label']!r}")
    return rows


def _fmt(v, digits: int = 4) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}g}"


def markdown(title: str, records: list[dict], skipped: list[str]) -> str:
    lines = [f"# {title}", ""]
    for heading, rows in _likelihood_groups(records):
        lines += [f"## {heading}", "", likelihood_table(rows)]
    rows = _sample_rows(records)
    if rows:
        p = rows[0]["sample_protocol"]
        lines += ["## Sample quality", "", "| model | " + " | ".join(SAMPLE_COLUMNS) + " | parameters | train s | "
                  "samples/s |", "|---" * (len(SAMPLE_COLUMNS) + 4) + "|"]
        for r in rows:
            m = r["sample_metrics"]
            lines.append(f"| {r['label']} | " + " | ".join(_fmt(m.get(c)) for c in SAMPLE_COLUMNS) +
                         f" | {r.get('num_parameters', '-')} | {_fmt(r.get('train_seconds'), 3)} | "
                         f"{_fmt(r.get('samples_per_second'), 3)} |")
        lines += ["", (f"Protocol: {p['num_samples']} samples of {p['data']} against {p['reference']}, feature net "
                       f"{p['feature_net']}; the floor is as many held-out real test images."), ""]
    lines += ["## Every entry", "", "| model | family | parameters | train s | samples/s |", "|---|---|---|---|---|"]
    for r in records:
        if "family" in r:
            lines.append(f"| {r['label']} | {r['family']} | {r.get('num_parameters', '-')} | "
                         f"{_fmt(r.get('train_seconds'), 3)} | {_fmt(r.get('samples_per_second'), 3)} |")
    if skipped:
        lines += ["", "Not run (time budget): " + ", ".join(skipped)]
    return "\n".join(lines) + "\n"


def _png_data(path: str | None) -> str:
    if not path or not os.path.exists(path):
        return ""
    with open(path, "rb") as f:
        return "data:image/png;base64," + base64.b64encode(f.read()).decode()


def html_page(title: str, md: str, records: list[dict]) -> str:
    """The Markdown page rendered to HTML (Python-Markdown, tables extension) and every entry's
    sample grid inline."""
    import markdown

    style = ("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #bbb;padding:3px 8px;text-align:left}</style>")
    head = f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>{style}</head>"
    body = f"<body>{markdown.markdown(md, extensions=['tables'])}<h2>Samples</h2>"
    parts = [head + body + "<div style='display:flex;flex-wrap:wrap'>"]
    for r in records:
        src = _png_data(r.get("samples_png"))
        if src:
            parts.append(f"<figure style='margin:8px'><img src='{src}' width='224'><figcaption>"
                         f"{html.escape(r['label'])}</figcaption></figure>")
    parts.append("</div></body></html>")
    return "\n".join(parts) + "\n"


def run(title: str, entries: list[Entry], root: str, feature_net_entry: Entry | None, dataset: str,
        num_samples: int, budget_minutes: float = 0.0, progress: bool = True,
        workdirs: dict[str, str] | None = None) -> dict:
    """Every entry (until the budget is spent), the floor, and the three files in `root`.
    `workdirs` maps labels (and "feature net") to finished runs to reuse where they are."""
    t0 = time.perf_counter()
    os.makedirs(root, exist_ok=True)
    workdirs = workdirs or {}
    feature_net = None
    if feature_net_entry is not None:
        feature_net = workdirs.get(feature_net_entry.label) or os.path.join(root, "feature_net")
        _trained(feature_net_entry.config(), feature_net)
    records, skipped = [], []
    for entry in entries:
        if budget_minutes and time.perf_counter() - t0 > 60 * budget_minutes and not os.path.exists(
                os.path.join(root, "entries", f"{slug(entry.label)}.json")):
            skipped.append(entry.label)
            continue
        print(f"[leaderboard] {entry.label}", flush=True)
        records.append(run_entry(entry, root, feature_net, num_samples, progress, workdirs.get(entry.label)))
    if feature_net:
        records.append(floor(root, dataset, feature_net, num_samples, progress))
    md = markdown(title, records, skipped)
    paths = {name: os.path.join(root, f"leaderboard.{name}") for name in ("md", "html", "json")}
    with open(paths["md"], "w") as f:
        f.write(md)
    with open(paths["html"], "w") as f:
        f.write(html_page(title, md, records))
    _write_json(paths["json"], {"title": title, "entries": records, "skipped": skipped,
                                "seconds": time.perf_counter() - t0})
    return paths
