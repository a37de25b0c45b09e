"""Trains ser-webgpu's model with PyTorch DistributedDataParallel: one process per GPU (nccl), or several CPU
processes (gloo). Written by `ser export --format pytorch`, beside ser_model.py, the weights
(model.safetensors) and, with --corpus, the corpus as the engine prepares it (corpus.safetensors: decoded,
resampled and level-normalised by the engine's own readers, so both sides see the same samples).

    torchrun --nproc_per_node 8 train_ddp.py --model model.safetensors --corpus corpus.safetensors --out trained.safetensors
    torchrun --nproc_per_node 2 train_ddp.py ... --cpu          # gloo, two CPU processes
    python3 -m torch.distributed.run ...                         # where torchrun is not on PATH
    python3 torchrun_compat.py ...                               # Debian bookworm's torch 1.13 (see there)

The recipe is `ser train`'s (src/train/trainer.ts): AdamW (decoupled weight decay on every parameter), a
linear warm-up from lr/20 then cosine decay to lr/20, set every step; class-weighted cross-entropy plus
--gender-weight × the gender head's; windows of the model's length cut back to back, each training window
replayed at a random rate in [0.9, 1.1] (--speed-perturbation); with per-speaker
normalisation, every batch holds one speaker's windows. Each process takes every world-th batch, so a step
sees world × batch-size windows (scale --lr if you want the single-device run's step size back).
--fold N trains and scores fold N of `ser train`'s folds (--folds k|loso|pairs over the corpus's split groups,
IEMOCAP's sessions; --split-seed, default --seed, deals them as the engine does; --validation-speakers holds the
fold's validation speakers out of training for early stopping with --patience, as the engine does);
--test-speakers holds chosen speakers out instead (whole groups). The held-out speakers are scored at the end,
batch norm adapted to each one's own audio (labels unused), the utterances outside the classes included, as
`ser train` does for a fold. The checkpoint (--out, written after every epoch; with validation speakers, the best
epoch's at the end) is in the engine's format: `ser predict --model`, `ser eval`, the page's ?model= and
loadRecognizer() read it as it is.
"""
import argparse
import copy
import gc
import json
import math
import os
import random
import re
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ser_model as sm  # noqa: E402

CORPUS_FORMAT = 'ser-webgpu/corpus-1'


def load_corpus(path, config):
    """A corpus.safetensors: its name, the utterances cut into the model's windows (labels by the model's class
    order), the unscored utterances cut alike (no label: only a test speaker's adaptation reads them), and the
    split groups in the engine's dealing order with each speaker's gender (for speaker_folds). A file written
    before groups and unscored utterances were exported loads with each speaker a group of its own (ordered as
    the engine orders ids) and no unscored audio."""
    tensors, meta = sm.load_safetensors(path)
    if meta.get('format') != CORPUS_FORMAT:
        raise SystemExit(f'{path}: not a corpus written by `ser export --corpus` (metadata.format is {meta.get("format")!r})')
    if int(meta['sampleRate']) != config['sampleRate']:
        raise SystemExit(f'{path}: audio at {meta["sampleRate"]} Hz but the model reads {config["sampleRate"]} Hz')
    classes = json.loads(meta['classes'])
    if classes != config['classes']:
        raise SystemExit(f'{path}: classes {classes} differ from the model\'s {config["classes"]} (labels would be misread)')
    L = config['windowSamples']

    def cut(entries, labelled):
        out = []
        for u in entries:
            if u['tensor'] not in tensors:
                raise SystemExit(f'{path}: utterance {u["file"]} names a missing tensor "{u["tensor"]}"')
            windows = sm.fixed_windows(tensors[u['tensor']], L)
            if windows:
                e = dict(file=u['file'], speaker=u['speaker'], gender=sm.GENDERS.index(u['gender']), windows=torch.stack(windows))
                if labelled:
                    e['label'] = classes.index(u['emotion'])
                out.append(e)
        return out

    utterances = json.loads(meta['utterances'])
    # A speaker's gender is that of its first utterance, as folds.ts's corpusSpeakers takes it.
    genders = {}
    for u in utterances:
        genders.setdefault(u['speaker'], u['gender'])
    groups = json.loads(meta['groups']) if 'groups' in meta else [[s] for s in sorted(genders, key=natural_key)]
    unscored = cut(json.loads(meta.get('unscored', '[]')), False)
    return meta.get('name', 'corpus'), cut(utterances, True), unscored, groups, genders


def natural_key(s):
    """Intl.Collator('en', {numeric: true})'s order as far as corpus ids need it ("03" < "8" < "10", letters
    without regard to case): only for corpus files exported before they carried their groups' order."""
    return [(0, int(p), '') if p.isdigit() else (1, 0, p.casefold()) for p in re.split(r'([0-9]+)', s) if p]


# ------------------------------------------------------------------------------------------ folds
# src/train/folds.ts in Python, step for step, so that a seed deals the same folds here as `ser train` does.

def mulberry32(seed):
    """The engine's seeded generator (src/engine/random.ts): uniform numbers in [0, 1), the same stream."""
    a = seed & 0xFFFFFFFF
    imul = lambda x, y: (x * y) & 0xFFFFFFFF

    def random():
        nonlocal a
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = imul(a ^ (a >> 15), a | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return (t ^ (t >> 14)) / 4294967296
    return random


def fold_plan(groups, genders, scheme):
    """(units, per fold the indices of the units it tests, what a unit is called): folds.ts's plan."""
    if all(len(g) == 1 for g in groups):
        ordered = [g[0] for g in groups]
        females = [s for s in ordered if genders[s] == 'f']
        males = [s for s in ordered if genders[s] == 'm']
        if scheme == 'loso':
            return [[s] for s in ordered], [[i] for i in range(len(ordered))], 'speakers'
        if scheme == 'pairs':
            if len(females) != len(males):
                raise SystemExit(f"--folds pairs needs as many female as male speakers to pair them, got {len(females)} f and {len(males)} m")
            return [[f, m] for f, m in zip(females, males)], [[i] for i in range(len(females))], 'pairs'
        if scheme > len(ordered):
            raise SystemExit(f'--folds {scheme} needs at least {scheme} speakers, got {len(ordered)}')
        # Females then males dealt round-robin, continuing where the females stopped.
        units = [[s] for s in females + males]
        return units, [list(range(f, len(units), scheme)) for f in range(scheme)], 'speakers'
    # Grouped speakers: the groups are the units, whole, whatever the scheme.
    tests = [[i] for i in range(len(groups))]
    if scheme == 'loso':
        return groups, tests, 'groups'
    if scheme == 'pairs':
        odd = next((g for g in groups if len(g) != 2 or genders[g[0]] == genders[g[1]]), None)
        if odd:
            raise SystemExit(f"--folds pairs with grouped speakers needs every group to be one female and one male speaker, but a group holds {', '.join(f'{s} ({genders[s]})' for s in odd)}")
        return groups, tests, 'groups'
    if scheme > len(groups):
        raise SystemExit(f'--folds {scheme} needs at least {scheme} speaker groups (a group is never split between training and test), got {len(groups)}')
    # All-female groups first, then mixed, then all-male (a stable sort, as JavaScript's), dealt round-robin.
    mix = lambda g: 0 if all(genders[s] == 'f' for s in g) else 2 if all(genders[s] == 'm' for s in g) else 1
    units = sorted(groups, key=mix)
    return units, [list(range(f, len(units), scheme)) for f in range(scheme)], 'groups'


def pick_validation(units, genders, tested, fold, count, uses):
    """folds.ts's pickValidation: least-used units first, ties by cyclic distance after the tested ones; for
    single speakers the genders alternate, starting with f in even folds."""
    n = len(units)
    candidates = sorted((i for i in range(n) if i not in tested), key=lambda i: (uses[i], (i - tested[0]) % n))
    single = all(len(u) == 1 for u in units)
    picked, want = [], 'f' if fold % 2 == 0 else 'm'
    while len(picked) < count:
        remaining = [i for i in candidates if i not in picked]
        of_gender = next((i for i in remaining if genders[units[i][0]] == want), None) if single else None
        picked.append(remaining[0] if of_gender is None else of_gender)
        want = 'm' if want == 'f' else 'f'
    for i in picked:
        uses[i] += 1
    return picked


def speaker_folds(groups, genders, scheme, validation=0, seed=None):
    """folds.ts's speakerFolds: per fold the train, validation and test speakers. groups: the split groups in
    the engine's order (load_corpus); scheme: 'loso', 'pairs' or k; the seed shuffles the groups (mulberry32)."""
    ids = [s for g in groups for s in g]
    if len(ids) < 3:
        raise SystemExit(f'folds need at least 3 speakers (train, validation, test), got {len(ids)}')
    ordered = [list(g) for g in groups]
    if seed is not None:
        random = mulberry32(seed)
        for i in range(len(ordered) - 1, 0, -1):
            j = math.floor(random() * (i + 1))
            ordered[i], ordered[j] = ordered[j], ordered[i]
    units, tests, unit_name = fold_plan(ordered, genders, scheme)
    most = max(len(t) for t in tests)
    if validation > len(units) - most - 1:
        raise SystemExit(f'{validation} validation {unit_name} per fold leave no training {unit_name}: {len(units)} {unit_name} in all, up to {most} tested per fold')
    rank = {s: i for i, s in enumerate(ids)}
    ids_of = lambda indices: sorted((s for i in indices for s in units[i]), key=rank.get)
    uses = [0] * len(units)
    folds = []
    for index, tested in enumerate(tests):
        picked = pick_validation(units, genders, tested, index, validation, uses)
        train = [i for i in range(len(units)) if i not in tested and i not in picked]
        folds.append({'train': ids_of(train), 'validation': ids_of(picked), 'test': ids_of(tested)})
    return folds


def batches(refs, size):
    """Mini-batches; a last batch of one window joins the previous one (batch norm needs two)."""
    out = [refs[i:i + size] for i in range(0, len(refs), size)]
    if len(out) > 1 and len(out[-1]) == 1:
        out[-2] += out.pop()
    return out


def shuffled(items, rng):
    items = list(items)
    rng.shuffle(items)
    return items


def speaker_batches(refs, size, rng):
    """Batches that each hold one speaker's windows (in shuffled order), shuffled: batch norm then normalises
    by one speaker's statistics, as it does at test time after adapting to the test speaker."""
    by_speaker = {}
    for r in refs:
        by_speaker.setdefault(r[0]['speaker'], []).append(r)
    out = [b for own in by_speaker.values() for b in batches(shuffled(own, rng), size)]
    return shuffled(out, rng)


def perturb_speed(x, max_change, gen):
    """Each window of x [N, L] replayed at a random rate in [1 - max_change, 1 + max_change] by linear
    interpolation, reading (t * rate) mod L: ser train's speed perturbation (src/train/augment.ts)."""
    if max_change == 0:
        return x
    N, L = x.shape
    rate = 1 - max_change + 2 * max_change * torch.rand(N, 1, generator=gen)
    at = torch.remainder(torch.arange(L, dtype=torch.float64) * rate.double(), L)
    i = at.floor().long()
    frac = (at - i).float()
    return x.gather(1, i) * (1 - frac) + x.gather(1, (i + 1) % L) * frac


def class_weights(examples, n):
    """Inverse window frequency, mean 1 over the classes present (as src/train/dataset.ts)."""
    counts = [0] * n
    for e in examples:
        counts[e['label']] += len(e['windows'])
    present, total = sum(c > 0 for c in counts), sum(counts)
    return torch.tensor([total / (present * c) if c else 0.0 for c in counts])


def learning_rate(lr, epochs, warmup, epoch):
    """At a fractional epoch: linear warm-up from lr/20 over `warmup` epochs, then cosine decay to lr/20."""
    floor = lr / 20
    if epoch < warmup:
        return floor + (lr - floor) * epoch / warmup
    progress = (epoch - warmup) / max(1e-9, epochs - warmup)
    return floor + (lr - floor) * (1 + math.cos(math.pi * min(1, progress))) / 2


@torch.no_grad()
def predict_speakers(model, examples, use_gender, device, unscored=()):
    """Per example, its emotion and gender probabilities (the means over its windows, the true gender given), as
    src/train/evaluate.ts's predictExamples: with per-speaker normalisation, batch norm first adapts to each
    speaker's own audio, the examples then the speaker's unscored utterances (labels unused)."""
    out = {}
    for speaker in dict.fromkeys(e['speaker'] for e in examples):
        own = [e for e in examples if e['speaker'] == speaker]
        m = copy.deepcopy(model)
        if model.config.get('speakerNormalization'):
            audio = own + [u for u in unscored if u['speaker'] == speaker]
            windows = torch.cat([e['windows'] for e in audio])
            onehots = torch.cat([F.one_hot(torch.full((len(e['windows']),), e['gender']), 2).float() for e in audio])
            sm.adapt_normalization(m, windows, onehots if use_gender else None)
        m.eval()
        for e in own:
            g = F.one_hot(torch.full((len(e['windows']),), e['gender']), 2).float().to(device) if use_gender else None
            emotion, gender = m(e['windows'].unsqueeze(1).to(device), g)
            out[id(e)] = (F.softmax(emotion, 1).double().mean(0).cpu(), F.softmax(gender, 1).double().mean(0).cpu())
    return [out[id(e)] for e in examples]


def evaluate(model, examples, use_gender, device, unscored=()):
    """WA and UA on held-out speakers (see predict_speakers), and how often the gender head is right."""
    predictions = predict_speakers(model, examples, use_gender, device, unscored)
    truth = [e['label'] for e in examples]
    predicted = [int(p.argmax()) for p, _ in predictions]
    recalls = [sum(p == c for p, t in zip(predicted, truth) if t == c) / truth.count(c) for c in sorted(set(truth))]
    gender_right = sum(int(g.argmax()) == e['gender'] for e, (_, g) in zip(examples, predictions))
    return {'wa': sum(p == t for p, t in zip(predicted, truth)) / len(truth), 'ua': sum(recalls) / len(recalls), 'n': len(truth),
            'genderHeadAccuracy': gender_right / len(truth)}


def fold_scheme(v):
    if v in ('loso', 'pairs'):
        return v
    if not v.isdigit() or int(v) < 2:
        raise argparse.ArgumentTypeError("must be a number >= 2, 'loso' or 'pairs'")
    return int(v)


def split_speakers(a, groups, genders):
    """The test and validation speakers: fold --fold of speaker_folds, or --test-speakers; either way whole split
    groups, since a group's speakers share their recordings (IEMOCAP's sessions)."""
    if a.fold is not None:
        if a.test_speakers:
            raise SystemExit('--fold and --test-speakers each choose the test speakers: give one')
        folds = speaker_folds(groups, genders, a.folds, a.validation_speakers, a.seed if a.split_seed is None else a.split_seed)
        if not 1 <= a.fold <= len(folds):
            raise SystemExit(f'--fold {a.fold}: --folds {a.folds} deals {len(folds)} folds (1 to {len(folds)})')
        fold = folds[a.fold - 1]
        return set(fold['test']), set(fold['validation'])
    if a.validation_speakers:
        raise SystemExit('--validation-speakers goes with --fold (the fold chooses them, as `ser train` does)')
    held_out = set(filter(None, a.test_speakers.split(',')))
    unknown = held_out - set(genders)
    if unknown:
        raise SystemExit(f'--test-speakers: {sorted(unknown)} not in {a.corpus}')
    for g in groups:
        if held_out & set(g) and not set(g) <= held_out:
            raise SystemExit(f'--test-speakers: {", ".join(g)} form one split group (they share recordings); hold them out together')
    return held_out, set()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', required=True, help='a ser-webgpu checkpoint: the configuration and the initial weights')
    ap.add_argument('--corpus', required=True, help='corpus.safetensors from `ser export --corpus`')
    ap.add_argument('--out', required=True, help='where the trained checkpoint goes (engine format)')
    ap.add_argument('--reinit', action='store_true', help="start from fresh weights (seeded), not the checkpoint's")
    ap.add_argument('--epochs', type=int, default=40)  # ser train's default
    ap.add_argument('--batch-size', type=int, default=16, help='windows per batch and process')
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--warmup-epochs', type=float, default=1)
    ap.add_argument('--weight-decay', type=float, default=1e-2)
    ap.add_argument('--speed-perturbation', type=float, default=0.1, help='each training window replayed at a random rate in [1 - p, 1 + p] (0: off)')
    ap.add_argument('--gender-weight', type=float, default=0.5, help="weight of the gender head's loss (0 for the design 'none')")
    ap.add_argument('--no-class-weights', action='store_true')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--test-speakers', default='', help='comma-separated speakers held out and scored at the end (whole split groups: an IEMOCAP session\'s two actors together)')
    ap.add_argument('--fold', type=int, help="train and score fold N (1-based) of --folds, as `ser train` deals them: instead of --test-speakers")
    ap.add_argument('--folds', type=fold_scheme, default=5, help="with --fold: k (k-fold by speaker), loso or pairs, over split groups as `ser train` (default 5)")
    ap.add_argument('--split-seed', type=int, help="with --fold: seed of the folds' order and validation speakers, as `ser train --split-seed` (default: --seed)")
    ap.add_argument('--validation-speakers', type=int, default=0, help='with --fold: training speakers (groups) held out for early stopping, as `ser train` (0: fixed epochs)')
    ap.add_argument('--patience', type=int, default=8, help='early stopping: epochs without a better validation UA')
    ap.add_argument('--cpu', action='store_true', help='CPU processes with gloo even where CUDA is present')
    a = ap.parse_args()

    distributed = 'WORLD_SIZE' in os.environ
    cuda = torch.cuda.is_available() and not a.cpu
    local = int(os.environ.get('LOCAL_RANK', 0))
    device = torch.device(f'cuda:{local}' if cuda else 'cpu')
    if cuda:
        torch.cuda.set_device(device)
    if distributed:
        dist.init_process_group('nccl' if cuda else 'gloo')
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    log = (lambda *m: print(*m, flush=True)) if rank == 0 else (lambda *m: None)

    model = sm.load(a.model)
    config = model.config
    if a.reinit:
        torch.manual_seed(a.seed)  # the same weights on every process (DDP also broadcasts rank 0's)
        model = sm.SerModel(config)
    model.to(device).train()
    name, examples, unscored, groups, genders = load_corpus(a.corpus, config)
    held_out, validating = split_speakers(a, groups, genders)
    log(json.dumps({'fold': a.fold, 'train': sorted(genders.keys() - held_out - validating, key=natural_key), 'validation': sorted(validating, key=natural_key), 'test': sorted(held_out, key=natural_key)}))
    train = [e for e in examples if e['speaker'] not in held_out | validating]
    validation = [e for e in examples if e['speaker'] in validating]
    test = [e for e in examples if e['speaker'] in held_out]
    if not train:
        raise SystemExit(f'{a.corpus}: no training utterances')
    C = len(config['classes'])
    weights = (torch.ones(C) if a.no_class_weights else class_weights(train, C)).to(device)
    use_gender = config['useGender']
    per_speaker = bool(config.get('speakerNormalization'))

    # Each process keeps its own batch-norm statistics (its batches are one speaker each); they are averaged
    # over processes after every epoch, which is the running average of the processes' batch statistics.
    net = DistributedDataParallel(model, device_ids=[local] if cuda else None, broadcast_buffers=False) if distributed else model
    opt = sm.adamw(model, a.lr, a.weight_decay)
    torch.manual_seed(a.seed * 7919 + rank)  # dropout masks differ per process
    augment = torch.Generator().manual_seed(a.seed * 1000033 + rank)
    refs = [(e, w) for e in train for w in range(len(e['windows']))]
    plan = lambda rng: speaker_batches(refs, a.batch_size, rng) if per_speaker else batches(shuffled(refs, rng), a.batch_size)
    steps_per_epoch = math.ceil(len(plan(random.Random(0))) / world)
    log(f'{name}: {len(train)} utterances, {len(refs)} windows, {world} process(es) on {device.type}, {steps_per_epoch} steps per epoch')
    step = 0
    best_ua, best_epoch, best_state = -1.0, 0, None
    for epoch in range(a.epochs):
        # Early stopping as src/train/trainer.ts's fit; rank 0 validates and tells the others the best epoch.
        if validation and epoch - best_epoch >= a.patience and best_ua >= 0:
            break
        started = time.time()
        # Every process draws the same plan (same seed) and takes every world-th batch; the plan is padded
        # from its start so that every process runs the same number of steps (DDP needs that).
        all_batches = plan(random.Random(a.seed * 1000003 + epoch))
        all_batches += all_batches[:(-len(all_batches)) % world]
        total = torch.zeros(2, device=device)
        for b in all_batches[rank::world]:
            for group in opt.param_groups:
                group['lr'] = learning_rate(a.lr, a.epochs, a.warmup_epochs, step / steps_per_epoch)
            x = perturb_speed(torch.stack([e['windows'][w] for e, w in b]), a.speed_perturbation, augment).unsqueeze(1).to(device)
            labels = torch.tensor([e['label'] for e, _ in b], device=device)
            genders = torch.tensor([e['gender'] for e, _ in b], device=device)
            emotion, gender = net(x, F.one_hot(genders, 2).float() if use_gender else None)
            loss = sm.ser_loss(emotion, gender, labels, genders, a.gender_weight, weights)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            total += torch.stack([loss.detach(), torch.ones((), device=device)])
        if distributed:
            dist.all_reduce(total)
            for k, v in sm.state_dict(model).items():
                if 'running_' in k:
                    dist.all_reduce(v)
                    v /= world
        mean_loss = float(total[0] / total[1])
        if not math.isfinite(mean_loss):
            raise SystemExit(f'training diverged in epoch {epoch + 1}: the mean training loss is {mean_loss}; a lower --lr usually helps')
        record = {'epoch': epoch + 1, 'trainLoss': round(mean_loss, 6), 'lr': opt.param_groups[0]['lr']}
        if validation:
            # Adapted to their unscored utterances too, as the engine validates (and as the test speakers are).
            if rank == 0:
                record['validationUa'] = evaluate(model, validation, use_gender, device, unscored)['ua']
                if record['validationUa'] > best_ua:
                    best_ua, best_epoch, best_state = record['validationUa'], epoch + 1, copy.deepcopy(sm.state_dict(model))
            if distributed:
                shared = torch.tensor([best_ua, float(best_epoch)], dtype=torch.float64, device=device)
                dist.broadcast(shared, 0)
                best_ua, best_epoch = float(shared[0]), int(shared[1])
        if rank == 0:
            sm.save(model, a.out, {'corpus': name})
        log(json.dumps({**record, 'seconds': round(time.time() - started, 1)}))
    if best_state is not None:
        # As the engine: the weights of the epoch with the best validation UA are the ones kept and scored.
        model.load_state_dict(best_state, strict=False)
        sm.save(model, a.out, {'corpus': name})
        log(json.dumps({'bestEpoch': best_epoch, 'validationUa': best_ua}))
    if rank == 0 and test:
        log(json.dumps({'test': sorted(held_out), **evaluate(model.eval(), test, use_gender, device, unscored)}))
    log(f'checkpoint: {a.out}')
    if distributed:
        dist.barrier()  # the others wait for rank 0's evaluation before the group goes away
        # DDP's reducer holds the group too. Left to the interpreter's exit, it would end the group holding the GIL
        # while joining gloo's worker threads, one of which may need the GIL to free a tensor: now and then a
        # hang at exit under torch 1.13 (pytorch/pytorch#56297). Dropped first, the group ends in
        # destroy_process_group, which releases the GIL.
        del net
        gc.collect()
        dist.destroy_process_group()


if __name__ == '__main__':
    main()
