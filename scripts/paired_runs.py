# Paired comparisons of `ser train --seeds N` output folders, each effect paired per fold and seed with a 95 %
# bootstrap interval of the mean that resamples folds (scripts/paired_effect.py), as `ser train` reports it.
#
# Two folders run on the same folds and seeds (a recipe ablation): each design's UA per seed in both, and the
# second's per-fold UA minus the first's:
#   /usr/bin/python3 scripts/paired_runs.py docs/emodb-loso/at-7dc30f9/no-speed-perturbation docs/emodb-loso/at-7dc30f9
# One folder: each gender design's UA minus 'none's (the gender effect, as its seeds.md gives it):
#   /usr/bin/python3 scripts/paired_runs.py docs/emodb-loso
import json, os, sys
import numpy as np
from paired_effect import effect_cells

DESIGNS = ('concat', 'film', 'aux', 'none')


def seed_results(folder):
    """results.json of seed-1, seed-2, … in order, up to the first seed missing."""
    out = []
    while os.path.exists(path := os.path.join(folder, f'seed-{len(out) + 1}', 'results.json')):
        out.append(json.load(open(path)))
    return out


def uas(results, design):
    return [100 * r[design]['ua'] for r in results if r.get(design)]


def fold_differences(results_a, results_b, design_a, design_b):
    """Per seed, the per-fold UA of design_a in results_a minus design_b's in results_b, in points."""
    return [[100 * (x - y) for x, y in zip(a[design_a]['foldUa'], b[design_b]['foldUa'])]
            for a, b in zip(results_a, results_b) if a.get(design_a) and b.get(design_b)]


def spread(values):
    return f"{np.mean(values):.1f} ± {np.std(values, ddof=1) if len(values) > 1 else 0:.1f}"


def ablation(before, after):
    b, a = seed_results(before), seed_results(after)
    print('| design | UA per seed, before | UA per seed, after | after: mean ± sd | paired change (folds × seeds) | 95 % CI |')
    print('|---|---|---|---|---|---|')
    for design in DESIGNS:
        diffs = fold_differences(a, b, design, design)
        if not diffs:
            continue
        n = len(diffs)
        change, ci = effect_cells(diffs)
        print(f"| {design} | {', '.join(f'{u:.1f}' for u in uas(b, design)[:n])} | {', '.join(f'{u:.1f}' for u in uas(a, design)[:n])} | "
              f"{spread(uas(a, design)[:n])} | {change} | {ci} |")


def gender_effects(folder):
    results = seed_results(folder)
    print('| design | UA per seed | UA mean ± sd | effect vs none (folds × seeds) | 95 % CI |')
    print('|---|---|---|---|---|')
    for design in DESIGNS:
        if not uas(results, design):
            continue
        diffs = fold_differences(results, results, design, 'none') if design != 'none' else []
        effect = ' | '.join(effect_cells(diffs)) if diffs else ' | '
        print(f"| {design} | {', '.join(f'{u:.1f}' for u in uas(results, design))} | {spread(uas(results, design))} | {effect} |")


if __name__ == '__main__':
    if len(sys.argv) == 3:
        ablation(sys.argv[1], sys.argv[2])
    elif len(sys.argv) == 2:
        gender_effects(sys.argv[1])
    else:
        sys.exit('usage: paired_runs.py [BEFORE_DIR] DIR (`ser train --seeds N --out` folders)')
