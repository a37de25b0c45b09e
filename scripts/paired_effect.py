# The paired effect of a change, as src/train/metrics.ts's pairedEffect computes it for `ser train`: the mean and
# sd of the per-fold differences over folds × seeds, and a 95 % percentile-bootstrap interval of the mean (10,000
# resamples) that resamples folds, each with all its seeds. The seeds of one fold share its test speakers, so
# they are not independent pairs; taking them as such would narrow the interval by about √seeds.
import numpy as np


def paired_effect(per_seed):
    """per_seed: one list of per-fold differences per seed, the folds in the same order in each.
    Returns (mean, sd, n, low, high)."""
    d = np.array(per_seed, dtype=float)  # [seeds, folds]
    if d.ndim != 2 or d.size == 0:
        raise ValueError(f'paired_effect: needs the same folds in every seed, got shape {d.shape}')
    picks = np.random.default_rng(1).integers(0, d.shape[1], (10000, d.shape[1]))
    boot = np.sort(d[:, picks].mean(axis=(0, 2)))
    return d.mean(), d.std(ddof=1) if d.size > 1 else 0.0, d.size, boot[250], boot[9749]


def effect_cells(per_seed):
    """The two table cells of an effect in points: 'mean ± sd (n=N)' and 'low to high'."""
    mean, sd, n, low, high = paired_effect(per_seed)
    return f'{mean:+.1f} ± {sd:.1f} (n={n})', f'{low:+.1f} to {high:+.1f}'
