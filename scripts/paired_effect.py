# The paired effect of a change, as src/train/metrics.ts's pairedEffect computes it for `ser train`: the mean and
# sd of the per-fold differences over folds × seeds, and a 95 % percentile-bootstrap interval of the mean (10,000
# resamples) that resamples folds, each with all its seeds. The seeds of one fold share its test speakers, so
# they are not independent pairs; taking them as such would narrow the interval by about √seeds.
#
# That interval holds the seeds fixed, so it speaks for these seeds' draws (initial weights, batch order,
# augmentation, dropout) alone. Two designs of one run share them; two runs whose seeds drew anew (another
# commit's initialisation or rounding) do not, and there it is too narrow: two draws of one EMO-DB experiment
# differed by 1.6-1.9 points with fold intervals clear of 0. So the second interval resamples the seeds as well,
# independently of the folds, as pairedEffect's ciOverSeeds does (numpy's generator, not the engine's: an interval
# end may differ from `ser train`'s by 0.1-0.2).
import numpy as np

RESAMPLES = 10000


def paired_effect(per_seed):
    """per_seed: one list of per-fold differences per seed, the folds in the same order in each.
    Returns (mean, sd, n, (low, high) resampling folds, (low, high) resampling folds and seeds)."""
    d = np.array(per_seed, dtype=float)  # [seeds, folds]
    if d.ndim != 2 or d.size == 0:
        raise ValueError(f'paired_effect: needs the same folds in every seed, got shape {d.shape}')
    seeds, folds = d.shape
    rng = np.random.default_rng(1)
    fold_picks = rng.integers(0, folds, (RESAMPLES, folds))
    seed_picks = rng.integers(0, seeds, (RESAMPLES, seeds))  # drawn after the folds: their interval is unchanged
    over_folds = d[:, fold_picks].mean(axis=(0, 2))
    picked_seeds = d[seed_picks]  # [resamples, seeds, folds]
    over_both = np.take_along_axis(picked_seeds, np.broadcast_to(fold_picks[:, None, :], picked_seeds.shape), axis=2).mean(axis=(1, 2))
    interval = lambda means: tuple(np.sort(means)[[250, RESAMPLES - 251]])
    return d.mean(), d.std(ddof=1) if d.size > 1 else 0.0, d.size, interval(over_folds), interval(over_both)


def effect_cells(per_seed):
    """The three table cells of an effect in points: 'mean ± sd (n=N)', then 'low to high' resampling folds and
    'low to high' resampling folds and seeds."""
    mean, sd, n, folds, both = paired_effect(per_seed)
    return (f'{mean:+.1f} ± {sd:.1f} (n={n})', *(f'{low:+.1f} to {high:+.1f}' for low, high in (folds, both)))
