# What the seeds of a `ser train --seeds N` run reach together: each test utterance decided by an ensemble of
# k of the seeds, for every k and every subset of k seeds, and the gender effect of the ensemble of all of them.
# It tells how much of the error is the spread between training seeds, which averaging removes, rather than the
# recipe's: it reads the fold results (seed-<n>/fold<i>-<design>.json), which results.json does not keep.
#
# An ensemble averages its seeds' emotion probabilities, where every fold result keeps them; results written
# before they did keep the predictions alone, and there the ensemble is a plurality vote, a tie scored as the
# expected recall of breaking it at random (so no seed's order decides it). UA is as ser train scores it: per
# fold, the mean recall over the classes its test speaker has; pooled, over every class of every fold.
#
#   /usr/bin/python3 scripts/seed_ensemble.py runs/emodb-loso
import itertools, json, os, re, sys
import numpy as np
from paired_effect import paired_effect

DESIGNS = ('concat', 'film', 'aux', 'none')
USAGE = 'usage: seed_ensemble.py DIR  (DIR: the --out of a `ser train --seeds N` run, with its seed-<n>/fold<i>-<design>.json)'


def fold_results(folder):
    """{design: {seed: [fold result, ...] in fold order}} of the seeds whose folds of that design are all finished."""
    found = {}
    for name in os.listdir(folder):
        seed = re.fullmatch(r'seed-(0|[1-9][0-9]*)', name)
        if not seed or not os.path.isdir(path := os.path.join(folder, name)):
            continue
        for file in os.listdir(path):
            fold = re.fullmatch(r'fold([1-9][0-9]*)-([a-z]+)\.json', file)
            if fold and fold[2] in DESIGNS:
                found.setdefault(fold[2], {}).setdefault(int(seed[1]), {})[int(fold[1])] = os.path.join(path, file)
    out = {}
    for design, seeds in found.items():
        folds = max(len(files) for files in seeds.values())
        finished = {s: files for s, files in sorted(seeds.items()) if sorted(files) == list(range(1, folds + 1))}
        if len(finished) < len(seeds):
            print(f'{design}: seeds with unfinished folds left out: {sorted(set(seeds) - set(finished))}')
        out[design] = {s: [json.load(open(files[i])) for i in range(1, folds + 1)] for s, files in finished.items()}
    return out


def credits(results, classes):
    """Per utterance of a fold, the credit each class gets from these seeds' results of it: the argmax of their
    mean probabilities, or a plurality vote whose tie splits the credit."""
    if all(r.get('probabilities') for r in results):
        mean = np.mean([r['probabilities'] for r in results], axis=0)
        return np.eye(classes)[mean.argmax(axis=1)]
    votes = np.zeros((len(results[0]['truth']), classes))
    for r in results:
        votes[np.arange(len(r['predicted'])), r['predicted']] += 1
    top = votes == votes.max(axis=1, keepdims=True)
    return top / top.sum(axis=1, keepdims=True)


def ua(truth, credit):
    """Mean recall over the classes present in truth, each utterance's credit for its true class its hit."""
    truth = np.asarray(truth)
    hits = credit[np.arange(len(truth)), truth]
    return 100 * np.mean([hits[truth == c].mean() for c in np.unique(truth)])


def ensemble(seeds, subset, classes):
    """(pooled UA, per-fold UAs) of the ensemble of these seeds."""
    folds = len(next(iter(seeds.values())))
    per_fold = [(seeds[subset[0]][f]['truth'], credits([seeds[s][f] for s in subset], classes)) for f in range(folds)]
    pooled = ua(np.concatenate([t for t, _ in per_fold]), np.concatenate([c for _, c in per_fold]))
    return pooled, [ua(t, c) for t, c in per_fold]


def check_truth(design, seeds):
    """Every seed scored the same utterances of each fold, in the same order."""
    first = next(iter(seeds))
    for s, results in seeds.items():
        for f, r in enumerate(results):
            if r['truth'] != seeds[first][f]['truth']:
                sys.exit(f'seed-{s}/fold{f + 1}-{design}.json: its test utterances differ from seed-{first}\'s: not one experiment')


def main(folder):
    runs = fold_results(folder)
    if not runs:
        sys.exit(f'{folder}: no fold results (seed-<n>/fold<i>-<design>.json)\n{USAGE}')
    classes = 1 + max(max(max(r['truth']) for r in results) for seeds in runs.values() for results in seeds.values())
    designs = [d for d in DESIGNS if d in runs]
    for d in designs:
        check_truth(d, runs[d])
    n = max(len(seeds) for seeds in runs.values())
    print(f'| design | kind | ' + ' | '.join(f'{k} seed{"s" if k > 1 else ""}' for k in range(1, n + 1)) + ' |')
    print('|---|---|' + '---:|' * n)
    full = {}
    for d in designs:
        seeds = runs[d]
        kind = 'mean of probabilities' if all(r.get('probabilities') for rs in seeds.values() for r in rs) else 'plurality vote'
        cells = []
        for k in range(1, len(seeds) + 1):
            uas = [ensemble(seeds, subset, classes)[0] for subset in itertools.combinations(seeds, k)]
            cells.append(f'{uas[0]:.1f}' if len(uas) == 1 else f'{np.mean(uas):.1f} ± {np.std(uas, ddof=1):.1f}')
        full[d] = ensemble(seeds, list(seeds), classes)[1]
        print(f'| {d} | {kind} | ' + ' | '.join(cells) + ' |' + ' |' * (n - len(seeds)))
    print(f'\nUA in %: each cell the mean ± sd over every subset of k seeds (they overlap, so the sd is not over independent draws).')
    if 'none' in full and len(runs['none']) > 1:
        for d in designs[:-1]:
            if len(runs[d]) != len(runs['none']):
                continue
            mean, sd, count, folds, _ = paired_effect([np.subtract(full[d], full['none'])])
            print(f'{d} − none, the ensembles of all {len(runs[d])} seeds, per fold: {mean:+.1f} ± {sd:.1f} (n={count}), '
                  f'95 % CI {folds[0]:+.1f} to {folds[1]:+.1f} resampling the folds (one ensemble: no interval over seeds)')


if __name__ == '__main__':
    if len(sys.argv) != 2 or sys.argv[1].startswith('-') or not os.path.isdir(sys.argv[1]):
        sys.exit(USAGE)
    main(sys.argv[1])
