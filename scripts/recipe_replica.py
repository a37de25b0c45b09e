# A PyTorch replica of the SER recipe, for ranking recipe changes on EMO-DB leave-one-speaker-out quickly on a
# CPU (about 3 min per seed and design on 2 cores, against about 50 min for `ser train` on lavapipe). Not part
# of the package: the README's ablation and fusion-design tables come from it, each row with its command; the
# headline figures come from `ser train`. It mirrors the engine's defaults: a learned log filter bank (64
# complex filters, 25 ms, 10-ms hop, mel-initialised), three conv/BN/ReLU blocks, statistics pooling, 3-s
# windows filled by repetition, AdamW with warm-up and cosine decay, 20 epochs, class weights, a gender head.
# It differs in details the ablation does not depend on (torch's initialisation, the warm-up's shape).
#
#   /usr/bin/python3 scripts/recipe_replica.py --seeds 1,2,3                      # the default recipe, concat
#   /usr/bin/python3 scripts/recipe_replica.py --seeds 1,2,3 --fusion none --gw 0 # no gender at all
import argparse, csv, json, math, os, random, sys, time, wave
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from paired_effect import effect_cells

torch.set_num_threads(int(os.environ.get('THREADS', 2)))
CLASSES = ['anger', 'boredom', 'disgust', 'fear', 'happiness', 'neutral', 'sadness']
SR = 16000


def load(root):
    out = []
    with open(os.path.join(root, 'labels.csv')) as f:
        for row in csv.DictReader(f):
            with wave.open(os.path.join(root, row['file'])) as w:
                x = np.frombuffer(w.readframes(w.getnframes()), dtype='<i2').astype(np.float32) / 32768
            x = x - x.mean()
            out.append(dict(x=x, spk=row['speaker'], g=0 if row['gender'] == 'f' else 1, y=CLASSES.index(row['emotion'])))
    return out


def level(data, how):
    # 'utt': every utterance to unit RMS; 'speaker': one gain per speaker (keeps loudness differences between
    # a speaker's utterances, which carry emotion)
    if how == 'utt':
        for d in data: d['x'] = d['x'] / (np.sqrt((d['x'] ** 2).mean()) + 1e-8)
    else:
        spk = {}
        for d in data: spk.setdefault(d['spk'], []).append(d['x'])
        rms = {s: np.sqrt(np.mean(np.concatenate(v) ** 2)) for s, v in spk.items()}
        for d in data: d['x'] = d['x'] / rms[d['spk']]
    return data


def windows(x, L, pad):
    n = len(x)
    if n <= L:
        if pad == 'repeat':
            return [np.resize(x, L)]
        w = np.zeros(L, np.float32); w[:n] = x; return [w]
    ws = [x[s:s + L] for s in range(0, n - L + 1, L)]
    if n - (len(ws) * L) >= L // 2: ws.append(x[n - L:])
    return ws


def mel_init(F_, K, sr=SR):
    def hz2mel(h): return 2595 * np.log10(1 + h / 700)
    def mel2hz(m): return 700 * (10 ** (m / 2595) - 1)
    cf = mel2hz(np.linspace(hz2mel(60), hz2mel(7600), F_))
    t = (np.arange(K) - (K - 1) / 2) / sr
    win = np.hanning(K)
    re = np.stack([win * np.cos(2 * np.pi * f * t) for f in cf]) / K
    im = np.stack([win * np.sin(2 * np.pi * f * t) for f in cf]) / K
    return torch.tensor(re, dtype=torch.float32)[:, None], torch.tensor(im, dtype=torch.float32)[:, None]


class FBank(nn.Module):
    def __init__(s, nf, K=400, hop=160, init='mel'):
        super().__init__()
        re, im = mel_init(nf, K)
        if init == 'random':
            re = torch.randn_like(re) * 0.02; im = torch.randn_like(im) * 0.02
        s.w = nn.Parameter(torch.cat([re, im], 0)); s.hop = hop; s.nf = nf
    def forward(s, x):
        y = F.conv1d(x, s.w, stride=s.hop, padding=s.w.shape[-1] // 2 - 1)
        e = y[:, :s.nf] ** 2 + y[:, s.nf:] ** 2
        return torch.log(e + 1e-6)


class Net(nn.Module):
    def __init__(s, a, ncls):
        super().__init__()
        s.a = a
        s.fb = FBank(a.nf, init=a.init)
        s.inorm = nn.BatchNorm1d(a.nf, affine=False)
        chans = [a.nf] + a.chans
        s.convs = nn.ModuleList([nn.Conv1d(chans[i], chans[i + 1], 5, padding=2, bias=False) for i in range(len(a.chans))])
        s.bns = nn.ModuleList([nn.BatchNorm1d(c) for c in a.chans])
        feat = a.chans[-1] * (2 if a.pool == 'stats' else 1)
        s.film = nn.Linear(2, 2 * sum(a.chans)) if a.fusion == 'film' else None
        joined = feat + (2 if a.fusion == 'concat' else 0)
        s.hidden = nn.Linear(joined, a.hidden)
        s.out = nn.Linear(a.hidden, ncls)
        s.ghead = nn.Linear(feat, 2)
        s.drop = nn.Dropout(a.dropout)

    def forward(s, x, g, mask=None):
        h = s.fb(x)
        if s.a.norm == 'utt':
            h = (h - h.mean(2, keepdim=True)) / (h.std(2, keepdim=True) + 1e-5)
        elif s.a.norm == 'bn':
            h = s.inorm(h)
        elif s.a.norm == 'uttmean':
            h = h - h.mean(2, keepdim=True)
            h = s.inorm(h)
        if mask is not None:
            h = h * mask
        off = 0
        if s.film is not None: fp = s.film(g)
        for i, (c, b) in enumerate(zip(s.convs, s.bns)):
            h = b(c(h))
            if s.film is not None:
                C = c.out_channels
                sc = fp[:, off:off + C, None]; sh = fp[:, sum(s.a.chans) + off:sum(s.a.chans) + off + C, None]
                h = h * (1 + sc) + sh; off += C
            h = F.relu(h)
            if i < len(s.convs) - 1: h = F.max_pool1d(h, 2)
        if s.a.pool == 'stats':
            f = torch.cat([h.mean(2), h.std(2)], 1)
        else:
            f = h.mean(2)
        gl = s.ghead(f)
        z = torch.cat([f, g], 1) if s.a.fusion == 'concat' else f
        z = s.drop(F.relu(s.hidden(z)))
        return s.out(z), gl


def run_fold(a, data, test_spk, seed):
    torch.manual_seed(seed); random.seed(seed); np.random.seed(seed)
    L = int(a.win * SR)
    tr = [d for d in data if d['spk'] != test_spk]
    te = [d for d in data if d['spk'] == test_spk]
    trw = [(w, d['y'], d['g'], d['spk']) for d in tr for w in windows(d['x'], L, a.pad)]
    counts = np.bincount([t[1] for t in trw], minlength=len(CLASSES))
    cw = torch.tensor(len(trw) / (len(CLASSES) * counts), dtype=torch.float32)
    net = Net(a, len(CLASSES))
    opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=a.wd)
    bs = a.bs
    steps_per_epoch = math.ceil(len(trw) / bs)
    total = a.epochs * steps_per_epoch
    warm = int(a.warmup * steps_per_epoch)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1, (s + 1) / max(1, warm)) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(s, total) / total))))
    rng = np.random.default_rng(seed)
    swa = None
    for ep in range(a.epochs):
        net.train()
        if a.spkbatch:
            byspk = {}
            for i, t in enumerate(trw): byspk.setdefault(t[3], []).append(i)
            bl = []
            for idx in byspk.values():
                idx = rng.permutation(idx)
                bl += [idx[i:i + bs] for i in range(0, len(idx), bs) if len(idx[i:i + bs]) > 1]
            order = rng.permutation(len(bl)); bl = [bl[i] for i in order]
        else:
            p = rng.permutation(len(trw)); bl = [p[i:i + bs] for i in range(0, len(p), bs)]
            if len(bl[-1]) < 2: bl = bl[:-1]
        for b in bl:
            xs = np.stack([trw[i][0] for i in b])
            if a.gain:
                xs = xs * (10 ** (rng.uniform(-a.gain, a.gain, (len(b), 1)) / 20)).astype(np.float32)
            if a.speed:
                L_ = xs.shape[1]
                xs = np.stack([np.interp((np.arange(L_) * f) % L_, np.arange(L_), x).astype(np.float32)
                               for x, f in zip(xs, rng.uniform(1 - a.speed, 1 + a.speed, len(b)))])
            if a.shift:
                xs = np.stack([np.roll(x, rng.integers(0, L)) for x in xs]) if a.pad == 'repeat' else xs
            x = torch.tensor(xs)[:, None]
            y = torch.tensor([trw[i][1] for i in b]); gi = torch.tensor([trw[i][2] for i in b])
            g = F.one_hot(gi, 2).float()
            mask = None
            if a.mask:
                T_ = L // 160
                m = np.ones((len(b), a.nf, T_), np.float32)
                for k in range(len(b)):
                    for _ in range(2):
                        w = rng.integers(0, a.mask + 1); t0 = rng.integers(0, T_ - w + 1); m[k, :, t0:t0 + w] = 0
                        w = rng.integers(0, a.fmask + 1); f0 = rng.integers(0, a.nf - w + 1); m[k, f0:f0 + w, :] = 0
                mask = torch.tensor(m)
            if a.mixup:
                lam = float(rng.beta(a.mixup, a.mixup)); perm = torch.tensor(rng.permutation(len(b)))
                x = lam * x + (1 - lam) * x[perm]; g = lam * g + (1 - lam) * g[perm]
            lo, gl = net(x, g, mask)
            loss = F.cross_entropy(lo, y, weight=cw) + a.gw * F.cross_entropy(gl, gi)
            if a.mixup:
                loss = lam * loss + (1 - lam) * (F.cross_entropy(lo, y[perm], weight=cw) + a.gw * F.cross_entropy(gl, gi[perm]))
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
        if a.swa and ep >= a.epochs - a.swa:
            sd = {k: v.detach().clone() for k, v in net.state_dict().items()}
            if swa is None: swa, nswa = sd, 1
            else:
                nswa += 1
                for k in swa:
                    if swa[k].dtype.is_floating_point: swa[k] += (sd[k] - swa[k]) / nswa
    if a.swa:
        net.load_state_dict(swa)
    # eval: the test speaker's utterances, scored three ways
    net.eval()
    truth = [d['y'] for d in te]
    single = {'running': predict(net, te, L, a), 'utterance': [predict(adapted(net, [d], L, a), [d], L, a)[0] for d in te]}
    if a.adabn:
        net = adapted(net, te, L, a)
    return predict(net, te, L, a), truth, single


def adapted(net, utterances, L, a):
    """A copy of net whose batch norms hold the statistics of these utterances' windows (labels unused)."""
    import copy
    net = copy.deepcopy(net)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm1d): m.reset_running_stats(); m.momentum = None
    ws = [w for d in utterances for w in windows(d['x'], L, a.pad)]
    gs = [d['g'] for d in utterances for w in windows(d['x'], L, a.pad)]
    if len(ws) == 1: ws, gs = ws * 2, gs * 2
    net.train()
    with torch.no_grad():
        for i in range(0, len(ws), 32):
            net(torch.tensor(np.stack(ws[i:i + 32]))[:, None], F.one_hot(torch.tensor(gs[i:i + 32]), 2).float())
    return net.eval()


def predict(net, utterances, L, a):
    out = []
    with torch.no_grad():
        for d in utterances:
            ws = torch.tensor(np.stack(windows(d['x'], L, a.pad)))[:, None]
            lo, _ = net(ws, F.one_hot(torch.tensor([d['g']] * len(ws)), 2).float())
            out.append(int(F.softmax(lo, 1).mean(0).argmax()))
    return out


def ua(pred, truth):
    rec = [np.mean([p == c for p, t in zip(pred, truth) if t == c]) for c in range(len(CLASSES)) if c in truth]
    return float(np.mean(rec))


def summarize(log):
    """The tables from the JSON lines this script printed (one per tag and seed). The designs: UA mean ± sd over
    seeds, and each design's UA minus 'none's; then every other tag (a change to the recipe) against 'concat',
    the default it changes. Each effect is paired per fold (the speakers in sorted order) and seed, with a 95 %
    bootstrap interval that resamples folds and one that resamples seeds too (scripts/paired_effect.py), as `ser
    train` reports them; read the second here, where the designs and changes of a seed do not share all their draws."""
    runs = {}
    for line in open(log):
        if line.startswith('{') and '"per"' in line:
            r = json.loads(line)
            runs[(r['tag'], r['seed'])] = r
    seeds_of = lambda tag: sorted(s for t, s in runs if t == tag)
    per_seed = lambda tag, base: [[a - b for a, b in zip(runs[(tag, s)]['per'], runs[(base, s)]['per'])] for s in seeds_of(tag) if (base, s) in runs]
    uas = lambda tag: [runs[(tag, s)]['ua'] for s in seeds_of(tag)]
    spread = lambda ua: f"{', '.join(f'{u:.1f}' for u in ua)} | {np.mean(ua):.1f} ± {np.std(ua, ddof=1) if len(ua) > 1 else 0:.1f}"
    print('| design | seeds | UA per seed | UA mean ± sd | single file, trained statistics | effect vs none (folds × seeds) | 95 % CI, folds '
          '| 95 % CI, folds and seeds |')
    print('|---|---|---|---|---|---|---|---|')
    designs = ['concat', 'film', 'aux', 'none']
    for tag in designs:
        if not seeds_of(tag): continue
        single = [runs[(tag, s)]['single_file_ua']['running'] for s in seeds_of(tag) if 'single_file_ua' in runs[(tag, s)]]
        pairs = per_seed(tag, 'none') if tag != 'none' else []
        effect = ' | '.join(effect_cells(pairs)) if pairs else ' |  | '
        print(f"| {tag} | {','.join(map(str, seeds_of(tag)))} | {spread(uas(tag))} | {f'{np.mean(single):.1f}' if single else '-'} | {effect} |")
    print()
    print('| change (tag) | seeds | UA per seed | UA mean ± sd | paired change vs concat (folds × seeds) | 95 % CI, folds '
          '| 95 % CI, folds and seeds |')
    print('|---|---|---|---|---|---|---|')
    for tag in sorted({t for t, _ in runs} - set(designs)):
        pairs = per_seed(tag, 'concat')
        effect = ' | '.join(effect_cells(pairs)) if pairs else ' |  | '
        print(f"| {tag} | {','.join(map(str, seeds_of(tag)))} | {spread(uas(tag))} | {effect} |")


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == '--summarize':
        summarize(sys.argv[2])
        sys.exit(0)
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default=os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'data', 'emodb'))
    ap.add_argument('--nf', type=int, default=64)
    ap.add_argument('--init', default='mel')
    ap.add_argument('--chans', type=lambda s: [int(c) for c in s.split(',')], default=[64, 64, 64])
    ap.add_argument('--pool', default='stats')
    ap.add_argument('--norm', default='bn', help='utt: each window to zero mean and unit sd per band; bn: batch norm')
    ap.add_argument('--fusion', default='concat', help='concat | film | none (with --gw 0: no gender at all; else aux)')
    ap.add_argument('--hidden', type=int, default=64)
    ap.add_argument('--dropout', type=float, default=0.3)
    ap.add_argument('--win', type=float, default=3.0)
    ap.add_argument('--pad', default='repeat')
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--wd', type=float, default=1e-2)
    ap.add_argument('--bs', type=int, default=16)
    ap.add_argument('--epochs', type=int, default=20)
    ap.add_argument('--warmup', type=float, default=1)
    ap.add_argument('--gw', type=float, default=0.5)
    ap.add_argument('--gain', type=float, default=0)
    ap.add_argument('--shift', type=int, default=0)
    ap.add_argument('--speed', type=float, default=0, help='p: each training window resampled by a factor in [1-p, 1+p]')
    ap.add_argument('--mask', type=int, default=0, help='n: two time masks of up to n frames on the filter bank')
    ap.add_argument('--fmask', type=int, default=0, help='n: two band masks of up to n bands (with --mask)')
    ap.add_argument('--mixup', type=float, default=0, help='alpha: mix pairs of windows of a batch, lambda ~ Beta(alpha, alpha)')
    ap.add_argument('--swa', type=int, default=0, help='k: average the weights of the last k epochs')
    ap.add_argument('--spkbatch', type=int, default=1, help='1: every training batch holds one speaker')
    ap.add_argument('--adabn', type=int, default=1, help='1: batch norm re-estimated on each test speaker')
    ap.add_argument('--level', default='utt')
    ap.add_argument('--seeds', default='1')
    ap.add_argument('--spk', default='')
    ap.add_argument('--tag', default='')
    a = ap.parse_args()
    data = level(load(a.data), a.level)
    spks = sorted({d['spk'] for d in data})
    if a.spk: spks = a.spk.split(',')
    t0 = time.time()
    res = []
    for seed in [int(s) for s in a.seeds.split(',')]:
        P, T = [], []
        per = []
        S = {'running': [], 'utterance': []}
        for s in spks:
            p, t, single = run_fold(a, data, s, seed)
            P += p; T += t; per.append(round(ua(p, t) * 100, 1))
            for k in S: S[k] += single[k]
        res.append(ua(P, T) * 100)
        # single-file prediction: the trained statistics, or statistics of the utterance itself
        alone = {k: round(ua(v, T) * 100, 1) for k, v in S.items()}
        print(json.dumps(dict(tag=a.tag, seed=seed, ua=round(ua(P, T) * 100, 1), wa=round(np.mean(np.array(P) == np.array(T)) * 100, 1), per=per, single_file_ua=alone, sec=round(time.time() - t0))), flush=True)
    print(json.dumps(dict(tag=a.tag, args=vars(a), mean=round(float(np.mean(res)), 1), sd=round(float(np.std(res, ddof=1)) if len(res) > 1 else 0, 1))), flush=True)
