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
--test-speakers holds speakers out and scores them at the end, adapting batch norm to each one's own audio
(labels unused), as `ser train` does for a fold. The checkpoint (--out, written after every epoch) is in the
engine's format: `ser predict --model`, `ser eval`, the page's ?model= and loadRecognizer() read it as it is.
"""
import argparse
import copy
import gc
import json
import math
import os
import random
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
    """Utterances of a corpus.safetensors, cut into the model's windows; labels by the model's class order."""
    tensors, meta = sm.load_safetensors(path)
    if meta.get('format') != CORPUS_FORMAT:
        raise SystemExit(f'{path}: not a corpus written by `ser export --corpus` (metadata.format is {meta.get("format")!r})')
    if int(meta['sampleRate']) != config['sampleRate']:
        raise SystemExit(f'{path}: audio at {meta["sampleRate"]} Hz but the model reads {config["sampleRate"]} Hz')
    classes = json.loads(meta['classes'])
    if classes != config['classes']:
        raise SystemExit(f'{path}: classes {classes} differ from the model\'s {config["classes"]} (labels would be misread)')
    L = config['windowSamples']
    examples = []
    for u in json.loads(meta['utterances']):
        if u['tensor'] not in tensors:
            raise SystemExit(f'{path}: utterance {u["file"]} names a missing tensor "{u["tensor"]}"')
        windows = sm.fixed_windows(tensors[u['tensor']], L)
        if windows:
            examples.append(dict(file=u['file'], speaker=u['speaker'], label=classes.index(u['emotion']),
                                 gender=sm.GENDERS.index(u['gender']), windows=torch.stack(windows)))
    return meta.get('name', 'corpus'), examples


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
def evaluate(model, examples, use_gender, device):
    """WA and UA on held-out speakers; with per-speaker normalisation, batch norm adapts to each speaker first."""
    truth, predicted = [], []
    for speaker in dict.fromkeys(e['speaker'] for e in examples):
        own = [e for e in examples if e['speaker'] == speaker]
        m = copy.deepcopy(model)
        windows = torch.cat([e['windows'] for e in own])
        onehots = torch.cat([F.one_hot(torch.full((len(e['windows']),), e['gender']), 2).float() for e in own])
        if model.config.get('speakerNormalization'):
            sm.adapt_normalization(m, windows, onehots if use_gender else None)
        m.eval()
        for e in own:
            g = F.one_hot(torch.full((len(e['windows']),), e['gender']), 2).float().to(device) if use_gender else None
            p = F.softmax(m(e['windows'].unsqueeze(1).to(device), g)[0], 1).double().mean(0)
            truth.append(e['label'])
            predicted.append(int(p.argmax()))
    recalls = [sum(p == c for p, t in zip(predicted, truth) if t == c) / truth.count(c) for c in sorted(set(truth))]
    return {'wa': sum(p == t for p, t in zip(predicted, truth)) / len(truth), 'ua': sum(recalls) / len(recalls), 'n': len(truth)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', required=True, help='a ser-webgpu checkpoint: the configuration and the initial weights')
    ap.add_argument('--corpus', required=True, help='corpus.safetensors from `ser export --corpus`')
    ap.add_argument('--out', required=True, help='where the trained checkpoint goes (engine format)')
    ap.add_argument('--reinit', action='store_true', help="start from fresh weights (seeded), not the checkpoint's")
    ap.add_argument('--epochs', type=int, default=20)
    ap.add_argument('--batch-size', type=int, default=16, help='windows per batch and process')
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--warmup-epochs', type=float, default=1)
    ap.add_argument('--weight-decay', type=float, default=1e-2)
    ap.add_argument('--speed-perturbation', type=float, default=0.1, help='each training window replayed at a random rate in [1 - p, 1 + p] (0: off)')
    ap.add_argument('--gender-weight', type=float, default=0.5, help="weight of the gender head's loss (0 for the design 'none')")
    ap.add_argument('--no-class-weights', action='store_true')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--test-speakers', default='', help='comma-separated speakers held out and scored at the end')
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
    name, examples = load_corpus(a.corpus, config)
    held_out = set(filter(None, a.test_speakers.split(',')))
    unknown = held_out - {e['speaker'] for e in examples}
    if unknown:
        raise SystemExit(f'--test-speakers: {sorted(unknown)} not in {a.corpus}')
    train = [e for e in examples if e['speaker'] not in held_out]
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
    for epoch in range(a.epochs):
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
        if rank == 0:
            sm.save(model, a.out, {'corpus': name})
        log(json.dumps({'epoch': epoch + 1, 'trainLoss': round(mean_loss, 6), 'lr': opt.param_groups[0]['lr'], 'seconds': round(time.time() - started, 1)}))
    if rank == 0 and test:
        log(json.dumps({'test': sorted(held_out), **evaluate(model.eval(), test, use_gender, device)}))
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
