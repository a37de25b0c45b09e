# Compares two `ser train --seeds N` output folders run on the same folds and seeds (a recipe ablation): each
# design's UA per seed in both, and the second's per-fold UA minus the first's, paired per fold and seed, with a
# 95 % bootstrap interval of the mean that resamples folds (scripts/paired_effect.py), as `ser train` pairs the
# gender effect.
#
#   /usr/bin/python3 scripts/paired_runs.py docs/emodb-loso/no-speed-perturbation docs/emodb-loso
import json, os, sys
import numpy as np
from paired_effect import effect_cells


def main(before, after):
    print('| design | UA per seed, before | UA per seed, after | after: mean ± sd | paired change (folds × seeds) | 95 % CI |')
    print('|---|---|---|---|---|---|')
    for design in ('concat', 'film', 'aux', 'none'):
        diffs, ua_before, ua_after = [], [], []
        for seed in range(1, 100):
            paths = [os.path.join(d, f'seed-{seed}', 'results.json') for d in (before, after)]
            if not all(os.path.exists(p) for p in paths):
                break
            b, a = (json.load(open(p)).get(design) for p in paths)
            if not (a and b):
                break
            ua_before.append(100 * b['ua'])
            ua_after.append(100 * a['ua'])
            diffs.append([100 * (x - y) for x, y in zip(a['foldUa'], b['foldUa'])])
        if not diffs:
            continue
        change, ci = effect_cells(diffs)
        sd = np.std(ua_after, ddof=1) if len(ua_after) > 1 else 0
        print(f"| {design} | {', '.join(f'{u:.1f}' for u in ua_before)} | {', '.join(f'{u:.1f}' for u in ua_after)} | "
              f"{np.mean(ua_after):.1f} ± {sd:.1f} | {change} | {ci} |")


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit('usage: paired_runs.py BEFORE_DIR AFTER_DIR (two `ser train --seeds N --out` folders)')
    main(sys.argv[1], sys.argv[2])
