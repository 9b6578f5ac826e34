"""The likelihood protocol: how a family's test log-likelihood is computed, and its result.

A family states its likelihood as a `Likelihood`: a per-example function in nats, its kind and
its estimator settings. `evaluate` averages it over the protocol's test set
(jaxgen/data/protocol.py) and returns a `LikelihoodResult` that carries the protocol with the
number: test set (name, checksum, size), dequantisation, kind, estimator and settings. Two
results go side by side only when `comparable` says so (`table` refuses otherwise).

Kinds:
- "exact": log p(x) in closed form or by enumeration (GMM, PPCA, KDE, a mixture of Bernoullis).
- "lower_bound": a bound that holds for every draw (ELBO, IWAE, a mean-field or DBN bound).
- "estimate": a stochastic estimate (AIS log Z) whose standard error is part of the result.
"""

import dataclasses
import math
from collections.abc import Callable, Iterable
from typing import Any

import jax
import numpy as np

from jaxgen.data.protocol import TestSet

KINDS = ("exact", "lower_bound", "estimate")


@dataclasses.dataclass(frozen=True)
class Likelihood:
    """A family's test log-likelihood, per example, in nats.

    log_prob(params, batch, key, stats) -> {"log_prob": [B], other per-example values ([B],
    averaged and reported beside it, e.g. "elbo")}; `stats` is what `prepare(params, key)`
    returned (model-level quantities computed once per evaluation, e.g. an AIS log Z), or None.
    prepare returns (stats pytree, {name: float} reported, e.g. {"log_z": ..}); `shared_se`
    names the entry of that dict that is a standard error every example shares (log Z's), added
    in quadrature to the test-set sampling error.
    """

    kind: str
    estimator: str  # e.g. "iwae", "ais", "mean_field+ais"
    log_prob: Callable[..., dict]
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)  # e.g. {"k": 1000}
    prepare: Callable[[Any, jax.Array], tuple[Any, dict[str, float]]] | None = None
    shared_se: str | None = None
    dequantization: str = "none"  # how discrete data met a density (stated in every result)
    # log_prob is (a bound on or estimate of) the discrete log-probability of the stored test
    # values (binary pixels, grey levels); False: a density of continuous values (2-D data, or a
    # Gaussian on scaled pixels), which is never put beside a discrete one.
    discrete: bool = True
    # log p(x | label) rather than log p(x) (class-conditional models): a separate protocol.
    conditional: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"likelihood kind {self.kind!r}: expected one of {KINDS}")


@dataclasses.dataclass(frozen=True)
class LikelihoodResult:
    log_likelihood: float  # mean over the test set, nats per example (a bound or estimate per `kind`)
    se: float  # standard error of that mean
    bits_per_dim: float  # -log_likelihood / (D ln 2)
    kind: str
    estimator: str
    settings: dict[str, Any]
    test: dict[str, Any]  # TestSet.describe()
    dequantization: str
    discrete: bool
    extra: dict[str, float]  # other per-example values, averaged over the test set (e.g. the ELBO)
    model: dict[str, float]  # prepare's model-level reports (e.g. log_z, log_z_se)
    conditional: bool = False  # log p(x | label), never beside log p(x)
    # what log_likelihood is per: 'example', or 'character' (text: nats per character, and
    # bits_per_dim is then bits per character)
    unit: str = "example"

    def protocol(self) -> dict[str, Any]:
        """What must agree for two results to be compared."""
        return {"data": self.test["data"], "test_checksum": self.test["test_checksum"],
                "test_examples": self.test.get("units", self.test["test_examples"]), "discrete": self.discrete,
                "conditional": self.conditional, "unit": self.unit}

    def comparable(self, other: "LikelihoodResult") -> bool:
        return self.protocol() == other.protocol()

    def metrics(self, prefix: str = "test_") -> dict[str, float]:
        """Flat float metrics for the metrics stream."""
        out = {f"{prefix}log_likelihood": self.log_likelihood, f"{prefix}log_likelihood_se": self.se,
               f"{prefix}bpd": self.bits_per_dim}
        out.update({f"{prefix}{k}": v for k, v in self.extra.items()})
        out.update(self.model)
        return out

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def evaluate(likelihood: Likelihood, compiled_log_prob: Callable, params, test: TestSet,
             batches: Iterable[dict], key: jax.Array, put_batch: Callable = lambda b: b) -> LikelihoodResult:
    """Average `likelihood` over the protocol test set `test`, whose padded batches (with
    'mask') `batches` yields. `compiled_log_prob` is the jitted likelihood.log_prob (the
    caller compiles it once, e.g. over its devices). Sums run in float64 on the host; a
    non-finite value of any real example is an error naming the example.

    On a test set counted in units (text: characters), log_prob also returns 'units' [B], the
    characters each window predicts, and the result is per unit: sum of log_prob over sum of
    units, its standard error by the ratio estimator's delta method."""
    stats, reported = (None, {}) if likelihood.prepare is None else likelihood.prepare(
        params, jax.random.fold_in(key, 0))
    per_unit = test.unit != "example"
    sums: dict[str, float] = {}
    moments = np.zeros(3)  # sums of l^2, u^2 and l u over examples
    count = 0
    for i, batch in enumerate(batches):
        mask = np.asarray(batch["mask"]) > 0
        out = jax.device_get(compiled_log_prob(params, put_batch(batch), jax.random.fold_in(key, i + 1), stats))
        values = {name: np.asarray(v, np.float64)[mask] for name, v in out.items()}
        bad = ~np.isfinite(values["log_prob"])
        if bad.any():
            index = np.asarray(batch["index"])[mask][bad]
            raise FloatingPointError(f"log-likelihood is not finite for test example(s) {index[:10].tolist()} "
                                     f"({likelihood.estimator}); nothing is averaged over them")
        if per_unit and "units" not in values:
            raise ValueError(f"test set counted in {test.unit}s: the log-likelihood ({likelihood.estimator}) must "
                             "return 'units' per example")
        for name, v in values.items():
            sums[name] = sums.get(name, 0.0) + float(v.sum())
        lp, units = values["log_prob"], values.get("units", np.ones_like(values["log_prob"]))
        moments += [np.sum(lp**2), np.sum(units**2), np.sum(lp * units)]
        count += int(mask.sum())
    if count != test.num_examples:
        raise ValueError(f"{count} test examples were evaluated, the protocol's test set has {test.num_examples}")
    total = sums.pop("log_prob")
    if per_unit:
        units = sums.pop("units")
        if round(units) != test.num_units:
            raise ValueError(f"the log-likelihood counted {units:.0f} {test.unit}s, the test set has {test.num_units}")
        mean = total / units
        # var of l_i - mean u_i around 0, over (mean units per example)^2
        resid = moments[0] - 2 * mean * moments[2] + mean**2 * moments[1]
        var = max(resid / count, 0.0) * count / max(count - 1, 1) / (units / count) ** 2
        dims = 1
    else:
        mean = total / count
        var = max(moments[0] / count - mean**2, 0.0) * count / max(count - 1, 1)
        dims = math.prod(test.x.shape[1:])
    se = math.sqrt(var / count + (reported.get(likelihood.shared_se, 0.0) ** 2 if likelihood.shared_se else 0.0))
    extra = {name: total / count for name, total in sums.items()}
    return LikelihoodResult(mean, se, -mean / (dims * math.log(2.0)), likelihood.kind, likelihood.estimator,
                            dict(likelihood.settings), test.describe(), likelihood.dequantization, likelihood.discrete,
                            extra,
                            {k: float(v) for k, v in reported.items()}, likelihood.conditional, test.unit)


def table(rows: list[tuple[str, LikelihoodResult]]) -> str:
    """A Markdown table of results measured under one protocol (refuses a mix)."""
    if not rows:
        return ""
    first_label, first = rows[0]
    for label, result in rows[1:]:
        if not result.comparable(first):
            raise ValueError(f"row {label!r} was measured under protocol {result.protocol()}, row {first_label!r} "
                             f"under {first.protocol()}: likelihoods from different protocols never share a table")
    per = "per character" if first.unit == "character" else ""
    header = (f"| model | log-likelihood (nats{' ' + per if per else ''}) | {'bits/char' if per else 'bits/dim'} | "
              "kind | estimator | dequantisation |")
    lines = [header, "|---|---|---|---|---|---|"]
    for label, r in rows:
        settings = ", ".join(f"{k}={v}" for k, v in r.settings.items())
        lines.append(f"| {label} | {r.log_likelihood:.2f} ± {r.se:.2f} | {r.bits_per_dim:.4f} | {r.kind} | "
                     f"{r.estimator}{f' ({settings})' if settings else ''} | {r.dequantization} |")
    p = first.protocol()
    lines.append("")
    size = f"{p['test_examples']} characters" if per else f"{p['test_examples']} examples"
    lines.append(f"Protocol: {p['data']} test set, {size}, checksum {p['test_checksum']}, "
                 f"{'discrete log-likelihood of the stored values' if p['discrete'] else 'continuous density'}"
                 f"{', conditional on the label: log p(x | y)' if p['conditional'] else ''}.")
    return "\n".join(lines) + "\n"
