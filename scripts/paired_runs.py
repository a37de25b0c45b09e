# Paired comparisons of `ser train --seeds N` output folders, each effect paired per fold and seed with two 95 %
# bootstrap intervals of the mean (scripts/paired_effect.py), as `ser train` reports them: one that resamples
# folds, and one that resamples seeds too, which is the one that holds where the two sides' seeds drew anew (two
# commits' runs).
#
# Two folders run on the same folds and seeds (a recipe ablation): each design's UA per seed in both, and the
# second's per-fold UA minus the first's:
#   /usr/bin/python3 scripts/paired_runs.py docs/emodb-loso/at-7dc30f9/no-speed-perturbation docs/emodb-loso/at-7dc30f9
# One folder: each gender design's UA minus 'none's (the gender effect, as its seeds.md gives it):
#   /usr/bin/python3 scripts/paired_runs.py docs/emodb-loso
import json, os, re, sys
import numpy as np
from paired_effect import effect_cells

DESIGNS = ('concat', 'film', 'aux', 'none')


def seed_results(folder):
    """{seed: results.json} of the folder's seed-<n> folders that have one, by seed: seeds added later
    (--seed 4 --seeds 2 --split-seed 1) count, and a seed left unfinished hides none after it."""
    out = {}
    for name in os.listdir(folder):
        match = re.fullmatch(r'seed-(0|[1-9][0-9]*)', name)
        if match and os.path.exists(path := os.path.join(folder, name, 'results.json')):
            out[int(match[1])] = json.load(open(path))
    return dict(sorted(out.items()))


def uas(results, design):
    return [100 * r[design]['ua'] for r in results.values() if r.get(design)]


def fold_differences(results_a, results_b, design_a, design_b):
    """Per seed of both, the per-fold UA of design_a in results_a minus design_b's in results_b, in points."""
    return [[100 * (x - y) for x, y in zip(results_a[seed][design_a]['foldUa'], results_b[seed][design_b]['foldUa'])]
            for seed in results_a if seed in results_b and results_a[seed].get(design_a) and results_b[seed].get(design_b)]


def spread(values):
    return f"{np.mean(values):.1f} ± {np.std(values, ddof=1) if len(values) > 1 else 0:.1f}"


def ablation(before, after):
    b, a = seed_results(before), seed_results(after)
    # Paired by seed: a seed run in one folder only has no pair.
    common = [seed for seed in a if seed in b]
    if len(common) < max(len(a), len(b)):
        print(f'seeds in both folders: {common}; left out: {sorted(set(a) ^ set(b))}')
    b, a = {seed: b[seed] for seed in common}, {seed: a[seed] for seed in common}
    print('| design | UA per seed, before | UA per seed, after | after: mean ± sd | paired change (folds × seeds) '
          '| 95 % CI, folds | 95 % CI, folds and seeds |')
    print('|---|---|---|---|---|---|---|')
    for design in DESIGNS:
        diffs = fold_differences(a, b, design, design)
        if not diffs:
            continue
        n = len(diffs)
        print(f"| {design} | {', '.join(f'{u:.1f}' for u in uas(b, design)[:n])} | {', '.join(f'{u:.1f}' for u in uas(a, design)[:n])} | "
              f"{spread(uas(a, design)[:n])} | {' | '.join(effect_cells(diffs))} |")


def gender_effects(folder):
    results = seed_results(folder)
    print('| design | UA per seed | UA mean ± sd | effect vs none (folds × seeds) | 95 % CI, folds | 95 % CI, folds and seeds |')
    print('|---|---|---|---|---|---|')
    for design in DESIGNS:
        if not uas(results, design):
            continue
        diffs = fold_differences(results, results, design, 'none') if design != 'none' else []
        effect = ' | '.join(effect_cells(diffs)) if diffs else ' |  | '
        print(f"| {design} | {', '.join(f'{u:.1f}' for u in uas(results, design))} | {spread(uas(results, design))} | {effect} |")


if __name__ == '__main__':
    folders = sys.argv[1:]
    # A flag or a missing folder had been read as a run folder, and failed in os.listdir.
    if not 1 <= len(folders) <= 2 or not all(os.path.isdir(f) for f in folders):
        sys.exit('usage: paired_runs.py [BEFORE_DIR] DIR (`ser train --seeds N --out` folders)')
    if len(folders) == 2:
        ablation(*folders)
    else:
        gender_effects(folders[0])
