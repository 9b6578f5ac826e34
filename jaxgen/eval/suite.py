"""The metric table and the protocol recorded with every result.

`compute` runs the named sample metrics on features of real and generated
images; `Protocol` says how they were obtained. Two results are comparable
(`Protocol.comparable`) only when data, number of samples, reference set and
feature net (by weight digest) agree; `results_table` refuses to put
incomparable results in one table.
"""

import dataclasses

import jax
import numpy as np

from jaxgen.eval import metrics, options

SAMPLE_METRICS = options.SAMPLE_METRICS
METRICS = tuple(options.METRICS)


@dataclasses.dataclass(frozen=True)
class Protocol:
    data: str  # dataset name
    num_samples: int  # generated (or held-out real) images measured
    reference: str  # the real set they are compared with, e.g. "train[10000 random, seed 0]"
    feature_net: str  # FeatureNet.id (name@digest) or a user function's name
    seed: int  # sampling / subset seed
    jaxgen_version: str
    config: str  # the evaluated run's config name or path

    def comparable(self, other: "Protocol") -> bool:
        keys = ("data", "num_samples", "reference", "feature_net")
        return all(getattr(self, k) == getattr(other, k) for k in keys)


def compute(names, real_features, fake_features, fake_logits, key: jax.Array, kid_subsets: int = 100,
            kid_subset_size: int = 1000, **kw) -> dict[str, float]:
    """The SAMPLE_METRICS among `names` on [N, D] feature arrays (`fake_logits`
    [N, K] for the Inception-Score analogue; None skips it)."""
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; expected some of {METRICS}")
    out: dict[str, float] = {}
    if "fid" in names:
        out["fid"] = metrics.fid(real_features, fake_features)
    if "kid" in names:
        out.update(metrics.kid(real_features, fake_features, key, kid_subsets, kid_subset_size))
    if "inception_score" in names and fake_logits is not None:
        out.update(metrics.inception_score(fake_logits))
    if "precision_recall" in names:
        out.update(metrics.precision_recall(real_features, fake_features, k=3, **kw))
    if "density_coverage" in names:
        out.update(metrics.density_coverage(real_features, fake_features, k=5, **kw))
    return out


def results_table(rows: list[tuple[str, Protocol, dict[str, float]]], columns: list[str]) -> str:
    """A Markdown table of (label, protocol, metrics) rows sharing one protocol."""
    if not rows:
        return ""
    first = rows[0][1]
    for label, protocol, _ in rows[1:]:
        if not protocol.comparable(first):
            raise ValueError(f"row {label!r} was measured under a different protocol ({protocol}) than "
                             f"{rows[0][0]!r} ({first}); results from different protocols never share a table")
    lines = ["| run | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for label, _, values in rows:
        cells = [f"{values[c]:.4g}" if c in values else "-" for c in columns]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    protocol = (f"Protocol: {first.num_samples} samples of {first.data} against {first.reference}, "
                f"feature net {first.feature_net}")
    return "\n".join(lines) + "\n\n" + protocol + "\n"


def mean_and_stderr(values) -> tuple[float, float]:
    v = np.asarray(values, np.float64)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")
