#!/usr/bin/python3
"""Independent reference values for ragtax's statistics (src/stats/), from statsmodels and scipy.

The project's rule: statistics tests compare against an independent implementation, never against
ragtax itself. This script computes those references and writes the fixed inputs together with the
expected outputs to JSON, so tests/stats/reference.test.ts needs no Python.

Regenerate (Debian's python3-statsmodels 0.13.5 and python3-scipy 1.10.1 are installed for
/usr/bin/python3; the `python3` on PATH may be a different interpreter without them):

    /usr/bin/python3 tools/stats_reference.py > tests/fixtures/stats-reference.json

Everything is deterministic: inputs come from numpy.random.default_rng with fixed seeds, and the
Monte-Carlo power check uses its own seeded generator.

References used:
  - McNemar exact:       statsmodels.stats.contingency_tables.mcnemar([[0, b], [c, 0]], exact=True).pvalue
  - Holm / BH:           statsmodels.stats.multitest.multipletests(ps, method='holm' | 'fdr_bh')[1]
  - Clopper-Pearson:     statsmodels.stats.proportion.proportion_confint(k, n, alpha, method='beta')
  - Wilson:              statsmodels.stats.proportion.proportion_confint(k, n, alpha=0.05, method='wilson')
  - McNemar sample size: Connor (1987) re-implemented here with scipy.stats.norm.ppf,
                         n = (z_{1-a/2} sqrt(psi) + z_power sqrt(psi - d^2))^2 / d^2, rounded up
  - McNemar MDE:         the same formula solved for d with scipy.optimize.brentq (continuous n)
  - Power plausibility:  Monte-Carlo: multinomial paired binary data at the computed n, exact
                         McNemar (statsmodels) on each replicate, empirical rejection rate
  - Bootstrap widths:    statsmodels OLS of d = x - y on a constant; cov_type='cluster'
                         (groups = cluster codes, default use_correction=True, also recorded with
                         use_correction=False), and cov_type='HC0' / 'nonrobust' for the naive SE;
                         normal interval width 2 * 1.959963984540054 * SE
"""

import json
import math
import sys

import numpy as np
import scipy
import statsmodels
import statsmodels.api as sm
from scipy import optimize, stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

Z_95 = float(stats.norm.ppf(0.975))


def f(x):
    """Plain Python float for JSON (repr round-trips exactly)."""
    return float(x)


# ---------------------------------------------------------------- McNemar (exact, two-sided)

def mcnemar_p(b, c):
    return f(mcnemar(np.array([[0, b], [c, 0]]), exact=True).pvalue)


def mcnemar_cases():
    pairs = [
        (0, 0),          # b + c = 0: nothing discordant
        (0, 1), (1, 0), (0, 6), (1, 5), (5, 1), (2, 10),
        (3, 3), (7, 7), (50, 50),   # b = c: capped at 1
        (4, 5), (10, 20), (12, 30), (40, 25), (100, 130),
        (1000, 1000), (990, 1010), (950, 1050), (900, 1100), (800, 1200), (700, 1300),  # b + c = 2000
        (1960, 40), (4500, 4700),
    ]
    return [{"b": b, "c": c, "p": mcnemar_p(b, c)} for b, c in pairs]


# ---------------------------------------------------------------- Holm and Benjamini-Hochberg

def adjust_cases():
    rng = np.random.default_rng(20240601)
    inputs = {
        "single": [0.03],
        "single_one": [1.0],
        "sorted": [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216],
        "unsorted": [0.04, 0.001, 0.3, 0.02, 0.9, 0.011],
        "ties": [0.01, 0.02, 0.02, 0.02, 0.04, 0.01, 0.5],
        "all_equal": [0.03, 0.03, 0.03, 0.03],
        "with_ones": [1.0, 0.2, 1.0, 0.001, 0.049, 1.0],
        "all_ones": [1.0, 1.0, 1.0],
        "with_zero": [0.0, 0.5, 0.0001, 0.25],
        "cap_at_one": [0.3, 0.4, 0.5, 0.6, 0.7],
        "random_40": [f(p) for p in rng.uniform(0, 1, 40) ** 3],
        "random_ties_25": [f(round(p, 2)) for p in rng.uniform(0, 0.2, 25)],
    }
    out = []
    for name, ps in inputs.items():
        arr = np.array(ps, dtype=float)
        out.append({
            "name": name,
            "p": [f(p) for p in ps],
            "holm": [f(v) for v in multipletests(arr, alpha=0.05, method="holm")[1]],
            "bh": [f(v) for v in multipletests(arr, alpha=0.05, method="fdr_bh")[1]],
        })
    return out


# ---------------------------------------------------------------- Clopper-Pearson and Wilson

def interval_cases():
    grid = []
    for n in (1, 2, 3, 5, 10, 29, 30, 100, 1000):
        ks = sorted({0, 1, n // 3, n // 2, n - 1, n})
        grid.extend((k, n) for k in ks if 0 <= k <= n)
    cp = []
    for level in (0.95, 0.9, 0.99):
        for k, n in grid:
            low, high = proportion_confint(k, n, alpha=1 - level, method="beta")
            cp.append({"k": k, "n": n, "level": level, "low": f(low), "high": f(high)})
    wilson = []
    for k, n in grid:
        low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
        wilson.append({"k": k, "n": n, "low": f(low), "high": f(high)})
    return cp, wilson


# ---------------------------------------------------------------- McNemar power (Connor 1987)

def connor_n(delta, psi, alpha, power):
    za = stats.norm.ppf(1 - alpha / 2)
    zb = stats.norm.ppf(power)
    return (za * math.sqrt(psi) + zb * math.sqrt(psi - delta * delta)) ** 2 / (delta * delta)


def sample_size_cases():
    settings = [
        (0.05, 0.2, 0.05, 0.8), (0.02, 0.1, 0.05, 0.8), (0.1, 0.3, 0.05, 0.8), (0.01, 0.05, 0.05, 0.8),
        (0.03, 0.15, 0.01, 0.9), (0.2, 0.2, 0.05, 0.8), (0.005, 0.4, 0.05, 0.8), (0.3, 0.5, 0.1, 0.7),
        (-0.05, 0.2, 0.05, 0.8),
    ]
    out = []
    for effect, psi, alpha, power in settings:
        raw = connor_n(abs(effect), psi, alpha, power)
        out.append({"effect": effect, "discordance": psi, "alpha": alpha, "power": power,
                    "n_raw": f(raw), "n": int(math.ceil(raw))})
    # ragtax returns null here: no effect, no discordance, or an effect larger than the discordance.
    nulls = [
        {"effect": 0.0, "discordance": 0.2, "alpha": 0.05, "power": 0.8},
        {"effect": 0.05, "discordance": 0.0, "alpha": 0.05, "power": 0.8},
        {"effect": 0.3, "discordance": 0.2, "alpha": 0.05, "power": 0.8},
    ]
    return out, nulls


def mde_cases():
    settings = [
        (500, 0.2, 0.05, 0.8), (100, 0.1, 0.05, 0.8), (2000, 0.05, 0.05, 0.8), (300, 0.3, 0.01, 0.9),
        (50, 0.5, 0.05, 0.8), (10000, 0.15, 0.05, 0.8), (1000, 0.02, 0.1, 0.7),
    ]
    out = []
    for n, psi, alpha, power in settings:
        needed = lambda d: connor_n(d, psi, alpha, power) - n  # noqa: E731  (decreasing in d)
        if needed(psi) > 0:
            out.append({"n": n, "discordance": psi, "alpha": alpha, "power": power, "mde": None})
            continue
        d = optimize.brentq(needed, 1e-9, psi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
        out.append({"n": n, "discordance": psi, "alpha": alpha, "power": power, "mde": f(d)})
    # Out of reach: even d = psi needs more than n items.
    for n, psi in ((5, 0.1), (20, 0.05)):
        assert connor_n(psi, psi, 0.05, 0.8) > n
        out.append({"n": n, "discordance": psi, "alpha": 0.05, "power": 0.8, "mde": None})
    out.append({"n": 0, "discordance": 0.2, "alpha": 0.05, "power": 0.8, "mde": None})
    out.append({"n": 500, "discordance": 0.0, "alpha": 0.05, "power": 0.8, "mde": None})
    return out


def power_monte_carlo():
    """Empirical power of exact McNemar at the Connor n: the check that the formula means what it says."""
    rng = np.random.default_rng(987654321)
    replicates = 20000
    settings = [(0.05, 0.2), (0.03, 0.1), (0.06, 0.3)]
    alpha, nominal = 0.05, 0.8
    cache = {}

    def p_value(b, c):
        key = (int(b), int(c))
        if key not in cache:
            cache[key] = mcnemar_p(*key)
        return cache[key]

    out = []
    for delta, psi in settings:
        n = int(math.ceil(connor_n(delta, psi, alpha, nominal)))
        # Cells: base right & instruct wrong (p10), base wrong & instruct right (p01), concordant.
        p10 = (psi - delta) / 2
        p01 = (psi + delta) / 2
        counts = rng.multinomial(n, [p10, p01, 1 - psi], size=replicates)
        rejections = sum(1 for b, c, _ in counts if p_value(b, c) <= alpha)
        empirical = rejections / replicates
        out.append({
            "effect": delta, "discordance": psi, "alpha": alpha, "nominal_power": nominal, "n": n,
            "p10": p10, "p01": p01, "replicates": replicates, "rejections": rejections,
            "empirical_power": f(empirical),
            "monte_carlo_se": f(math.sqrt(empirical * (1 - empirical) / replicates)),
        })
    return out


# ---------------------------------------------------------------- cluster bootstrap vs sandwich SE

def clustered_dataset(rng, groups, min_size, max_size, kind):
    """Paired per-item values with cluster labels; `kind` sets the within-cluster dependence."""
    sizes = rng.integers(min_size, max_size + 1, size=groups)
    x, y, labels = [], [], []
    for g, size in enumerate(sizes):
        label = f"c{g:03d}"
        if kind == "shared":
            # Every item in a cluster shares its outcome pair: maximal intra-cluster correlation.
            xg = float(rng.random() < 0.7)
            yg = float(rng.random() < 0.55)
            x += [xg] * size
            y += [yg] * size
        elif kind == "random_effect":
            # Binary outcomes with a cluster-level logit shift shared by x and y (moderate ICC).
            u = rng.normal(0, 1.5)
            px = 1 / (1 + math.exp(-(0.8 + u)))
            py = 1 / (1 + math.exp(-(0.2 + u + rng.normal(0, 1.0))))
            x += [float(v) for v in (rng.random(size) < px)]
            y += [float(v) for v in (rng.random(size) < py)]
        elif kind == "continuous":
            # F1-like values in [0, 1] with a cluster-level shift.
            u = rng.normal(0, 0.15)
            x += [f(v) for v in np.clip(0.65 + u + rng.normal(0, 0.2, size), 0, 1)]
            y += [f(v) for v in np.clip(0.55 + u + rng.normal(0, 0.2, size), 0, 1)]
        elif kind == "independent":
            x += [float(v) for v in (rng.random(size) < 0.7)]
            y += [float(v) for v in (rng.random(size) < 0.6)]
        else:
            raise ValueError(kind)
        labels += [label] * int(size)
    return x, y, labels


def ols_se(d, groups):
    const = np.ones((len(d), 1))
    model = sm.OLS(np.asarray(d), const)
    codes = np.unique(np.asarray(groups), return_inverse=True)[1]
    cluster = model.fit(cov_type="cluster", cov_kwds={"groups": codes})  # default use_correction=True
    cluster_raw = model.fit(cov_type="cluster", cov_kwds={"groups": codes, "use_correction": False})
    hc0 = model.fit(cov_type="HC0")
    nonrobust = model.fit()
    return {
        "mean": f(nonrobust.params[0]),
        "se_cluster": f(cluster.bse[0]),
        "se_cluster_uncorrected": f(cluster_raw.bse[0]),
        "se_hc0": f(hc0.bse[0]),
        "se_nonrobust": f(nonrobust.bse[0]),
        "n_items": len(d),
        "n_clusters": int(len(np.unique(codes))),
    }


def bootstrap_cases():
    rng = np.random.default_rng(314159)
    specs = [
        ("random_effect_80", 80, 1, 8, "random_effect"),
        ("continuous_70", 70, 2, 6, "continuous"),
        ("shared_outcome_60", 60, 4, 6, "shared"),
        ("independent_120", 120, 1, 3, "independent"),
    ]
    out = []
    for i, (name, groups, lo, hi, kind) in enumerate(specs):
        x, y, labels = clustered_dataset(rng, groups, lo, hi, kind)
        d = np.array(x) - np.array(y)
        ref = ols_se(d, labels)
        ref.update({
            "width_cluster": f(2 * Z_95 * ref["se_cluster"]),
            "width_cluster_uncorrected": f(2 * Z_95 * ref["se_cluster_uncorrected"]),
            "width_hc0": f(2 * Z_95 * ref["se_hc0"]),
            "width_nonrobust": f(2 * Z_95 * ref["se_nonrobust"]),
            "design_effect_se_ratio": f(ref["se_cluster"] / ref["se_hc0"]),
            "design_effect_se_ratio_uncorrected": f(ref["se_cluster_uncorrected"] / ref["se_hc0"]),
        })
        out.append({"name": name, "kind": kind, "seed": 1000 + i, "samples": 5000,
                    "x": x, "y": y, "clusters": labels, "expected": ref})
    return out


def main():
    cp, wilson = interval_cases()
    sample_sizes, sample_size_nulls = sample_size_cases()
    doc = {
        "generated_by": "/usr/bin/python3 tools/stats_reference.py > tests/fixtures/stats-reference.json",
        "versions": {
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "statsmodels": statsmodels.__version__,
        },
        "calls": {
            "mcnemar": "statsmodels.stats.contingency_tables.mcnemar(np.array([[0, b], [c, 0]]), exact=True).pvalue",
            "holm": "statsmodels.stats.multitest.multipletests(np.array(p), alpha=0.05, method='holm')[1]",
            "bh": "statsmodels.stats.multitest.multipletests(np.array(p), alpha=0.05, method='fdr_bh')[1]",
            "clopper_pearson": "statsmodels.stats.proportion.proportion_confint(k, n, alpha=1 - level, method='beta')",
            "wilson": "statsmodels.stats.proportion.proportion_confint(k, n, alpha=0.05, method='wilson')",
            "sample_size": "ceil((norm.ppf(1 - alpha/2) * sqrt(psi) + norm.ppf(power) * sqrt(psi - d**2))**2 / d**2), scipy.stats.norm",
            "mde": "scipy.optimize.brentq(lambda d: connor_n(d, psi, alpha, power) - n, 1e-9, psi, xtol=1e-15, rtol=4*eps); None when connor_n(psi) > n",
            "power_monte_carlo": "numpy default_rng(987654321).multinomial(n, [p10, p01, 1 - psi], size=20000); reject when statsmodels exact mcnemar pvalue <= alpha",
            "bootstrap": "statsmodels.api.OLS(d, ones).fit(cov_type='cluster', cov_kwds={'groups': codes}) [use_correction=True, the default; also use_correction=False], .fit(cov_type='HC0'), .fit() [nonrobust]; width = 2 * norm.ppf(0.975) * bse[0]",
        },
        "z_95": Z_95,
        "mcnemar": mcnemar_cases(),
        "adjust": adjust_cases(),
        "clopper_pearson": cp,
        "wilson": wilson,
        "sample_size": sample_sizes,
        "sample_size_null": sample_size_nulls,
        "mde": mde_cases(),
        "power_monte_carlo": power_monte_carlo(),
        "bootstrap": bootstrap_cases(),
    }
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
