"""ser-webgpu's speech-emotion model in PyTorch: the same network as src/model/ser-model.ts, parameter for
parameter and under the same state-dict names, for any configuration a ser-webgpu checkpoint holds.
Written by `ser export --format pytorch`; needs only PyTorch. Parity with the engine is tested in
test/export.test.ts (logits, one to three training steps, batch-norm statistics).

    import ser_model
    model = ser_model.load('model.safetensors')            # eval mode, the checkpoint's config and weights
    emotion_logits, gender_logits = model(x)               # x [N, 1, window_samples]: level-normalised audio
    probs = ser_model.predict(model, samples)              # one utterance at the model's rate: averaged windows

Checkpoints are safetensors (F32) whose metadata holds the configuration (`config`, JSON) and the classes;
`save` writes that format, so `ser predict`, `ser eval`, the page and the embedding API read what PyTorch
trained. Audio must already be at the model's sample rate (16 kHz for every preset): resample before.
"""
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

MODEL_FORMAT = 'ser-webgpu/model-1'
GENDERS = ('f', 'm')
# Energies below this are floored before the log, so silence gives a finite value (src/model/filterbank.ts).
ENERGY_FLOOR = 1e-6
# Added to the variance in statistics pooling, so a constant channel has a finite gradient (ser-model.ts).
STATS_EPS = 1e-5
# Below this RMS a signal is silence, not amplified noise (src/audio/level.ts).
SILENCE_RMS = 1e-8


# ------------------------------------------------------------------------------------------ safetensors

def load_safetensors(path):
    """(tensors, metadata) of a safetensors file holding F32 tensors; errors name the file."""
    with open(path, 'rb') as f:
        data = bytearray(f.read())  # writable, so torch.frombuffer shares it without a warning
    if len(data) < 8:
        raise ValueError(f'{path}: truncated ({len(data)} bytes)')
    (n,) = struct.unpack('<Q', data[:8])
    if n > len(data) - 8:
        raise ValueError(f'{path}: header length {n} exceeds the file')
    header = json.loads(data[8:8 + n].decode('utf-8'))
    metadata = header.pop('__metadata__', None) or {}
    body = memoryview(data)[8 + n:]
    tensors = {}
    for name, e in header.items():
        if e.get('dtype') != 'F32':
            raise ValueError(f'{path}: tensor "{name}" has dtype {e.get("dtype")}; only F32 is supported')
        begin, end = e['data_offsets']
        count = math.prod(e['shape'])
        if end - begin != 4 * count or end > len(body):
            raise ValueError(f'{path}: tensor "{name}" data_offsets [{begin}, {end}] do not fit shape {e["shape"]}')
    # As src/io/safetensors.ts and the reference reader: the tensors tile the data section exactly, since
    # overlaps, holes or trailing bytes mean a damaged file (overlapping tensors would read each other's values).
    expected = 0
    for name, e in sorted(header.items(), key=lambda item: tuple(item[1]['data_offsets'])):
        begin, end = e['data_offsets']
        if begin != expected:
            raise ValueError(f'{path}: tensor "{name}" starts at byte {begin}, expected {expected} (tensors must be contiguous, without gaps or overlaps)')
        expected = end
    if expected != len(body):
        raise ValueError(f'{path}: data section has {len(body)} bytes but the tensors cover {expected}')
    for name, e in header.items():
        begin, end = e['data_offsets']
        t = torch.frombuffer(body[begin:end], dtype=torch.float32) if end > begin else torch.zeros(0)
        tensors[name] = t.clone().reshape(e['shape'])
    return tensors, metadata


def save_safetensors(path, tensors, metadata=None):
    """F32 tensors sorted by name, header space-padded to 8 bytes (as src/io/safetensors.ts writes them),
    written to a temporary file and renamed, so a killed run never leaves half a checkpoint."""
    header, chunks, offset = {}, [], 0
    if metadata:
        header['__metadata__'] = {k: str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        t = tensors[name].detach().to('cpu', torch.float32).contiguous()
        if not torch.isfinite(t).all():
            raise ValueError(f'refusing to save tensor "{name}": it holds non-finite values (the training diverged)')
        raw = t.numpy().astype('<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(chunks))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# ------------------------------------------------------------------------------------------ the network

def mel_gabor_kernels(fb, sample_rate):
    """[2F, 1, K]: Hann-windowed complex sinusoids at mel-spaced centres (real kernels, then imaginary)."""
    F_, K = fb['filters'], fb['kernel']
    mel = lambda hz: 2595 * math.log10(1 + hz / 700)
    hz = lambda m: 700 * (10 ** (m / 2595) - 1)
    lo, hi = mel(fb['minHz']), mel(fb['maxHz'])
    out = torch.zeros(2 * F_, 1, K, dtype=torch.float64)
    for f in range(F_):
        centre = hz(lo + (hi - lo) * f / max(1, F_ - 1))
        for k in range(K):
            t = (k - (K - 1) / 2) / sample_rate
            window = (0.5 - 0.5 * math.cos(2 * math.pi * k / (K - 1))) / K
            out[f, 0, k] = window * math.cos(2 * math.pi * centre * t)
            out[F_ + f, 0, k] = window * math.sin(2 * math.pi * centre * t)
    return out.float()


class FilterBank(nn.Module):
    """x [N,1,L] → conv1d(stride hop) [N,2F,T] → re² + im² → log(· + floor) [N,F,T]."""

    def __init__(self, fb, sample_rate):
        super().__init__()
        self.filters, self.hop = fb['filters'], fb['hop']
        # Frames centred on their hop: a kernel of K taps sees K/2 samples either side.
        self.padding = fb['kernel'] // 2 - 1
        self.weight = nn.Parameter(mel_gabor_kernels(fb, sample_rate))

    def forward(self, x):
        y = F.conv1d(x, self.weight, stride=self.hop, padding=self.padding)
        return torch.log(y[:, :self.filters] ** 2 + y[:, self.filters:] ** 2 + ENERGY_FLOOR)


class ConvBlock(nn.Module):
    def __init__(self, in_channels, spec):
        super().__init__()
        k = spec['kernel']
        padding = k // 2 - (1 if k % 2 == 0 else 0)
        # No conv bias: batch norm's shift makes it redundant.
        self.conv = nn.Conv1d(in_channels, spec['channels'], k, stride=spec['stride'], padding=padding, bias=False)
        self.bn = nn.BatchNorm1d(spec['channels'], eps=1e-5, momentum=0.1)
        self.pool = spec['pool']

    def forward(self, x, film=None):
        y = self.bn(self.conv(x))
        if film is not None:
            y = y * film[0] + film[1]
        y = F.relu(y)
        # A sequence shorter than the pool is left as it is (the engine does the same).
        return F.max_pool1d(y, self.pool) if self.pool > 1 and y.shape[2] >= self.pool else y


class GenderFilm(nn.Module):
    """Per-channel scale 1 + W_s g + b_s and shift W_h g + b_h from the gender one-hot g."""

    def __init__(self, channels):
        super().__init__()
        self.scale = nn.Linear(len(GENDERS), channels)
        self.shift = nn.Linear(len(GENDERS), channels)

    def forward(self, g):
        return (1 + self.scale(g)).unsqueeze(2), self.shift(g).unsqueeze(2)


def statistics_pooling(h):
    """[N,C,T] → [N,2C]: each channel's mean over time, then its standard deviation (biased, + STATS_EPS)."""
    m = h.mean(2, keepdim=True)
    sd = torch.sqrt(((h - m) ** 2).mean(2) + STATS_EPS)
    return torch.cat([m.squeeze(2), sd], 1)


class AttentivePooling(nn.Module):
    """Attentive statistics pooling (Okabe et al. 2018): frame scores v·tanh(W h_t + b), softmax over time, then each
    channel's weighted mean and weighted standard deviation (+ STATS_EPS) → [N,2C] (ser-model.ts)."""

    def __init__(self, channels):
        super().__init__()
        self.hidden = nn.Conv1d(channels, channels, 1)
        self.score = nn.Conv1d(channels, 1, 1, bias=False)

    def forward(self, h):
        w = F.softmax(self.score(torch.tanh(self.hidden(h))), 2)
        m = (h * w).sum(2, keepdim=True)
        sd = torch.sqrt((((h - m) ** 2) * w).sum(2) + STATS_EPS)
        return torch.cat([m.squeeze(2), sd], 1)


def fusion_of(config):
    """'concat' | 'film' when the model takes the gender; checkpoints older than fusion designs concatenate."""
    return config.get('fusion') or 'concat'


class SerModel(nn.Module):
    """forward(x [N,1,L], gender [N,2] one-hot or None) → (emotion logits [N,C], gender logits [N,2]).
    When the model takes the gender and none is given, the gender head's probabilities stand in for it."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        front = config.get('frontEnd')
        self.film = config['useGender'] and fusion_of(config) == 'film'
        if self.film and not front:
            raise ValueError("SerModel: fusion 'film' needs the filter-bank front end (the gender head reads its statistics)")
        if front:
            self.frontend = FilterBank(front, config['sampleRate'])
            self.frontend_bn = nn.BatchNorm1d(front['filters'], eps=1e-5, momentum=0.1)
        channels = front['filters'] if front else 1
        self.blocks = []
        for i, spec in enumerate(config['blocks']):
            setattr(self, f'block{i}', ConvBlock(channels, spec))
            self.blocks.append(getattr(self, f'block{i}'))
            channels = spec['channels']
        self.films = []
        if self.film:
            for i, spec in enumerate(config['blocks']):
                setattr(self, f'film{i}', GenderFilm(spec['channels']))
                self.films.append(getattr(self, f'film{i}'))
        self.pooling = config.get('pooling') or 'mean'
        if self.pooling not in ('mean', 'stats', 'attentive'):
            raise ValueError(f'SerModel: pooling {self.pooling!r} is not one of mean, stats, attentive')
        if self.pooling == 'attentive':
            self.attention = AttentivePooling(channels)
        pooled = channels * (1 if self.pooling == 'mean' else 2)
        joined = pooled + (len(GENDERS) if config['useGender'] and not self.film else 0)
        hidden = config['hidden']
        self.hidden = nn.Linear(joined, hidden) if hidden > 0 else None
        self.emotion = nn.Linear(hidden if hidden > 0 else joined, len(config['classes']))
        self.gender = nn.Linear(2 * front['filters'] if self.film else pooled, len(GENDERS))
        self.dropout = nn.Dropout(config['dropout'])

    def forward(self, x, gender=None):
        if gender is not None and tuple(gender.shape) != (x.shape[0], len(GENDERS)):
            raise ValueError(f'SerModel: gender {list(gender.shape)} must be [{x.shape[0]}, {len(GENDERS)}] (one-hot f, m)')
        h = self.frontend_bn(self.frontend(x)) if hasattr(self, 'frontend') else x
        if self.film:
            # The gender estimate must not depend on what the gender modulates: it reads the filter bank's statistics.
            gender_logits = self.gender(statistics_pooling(h))
            g = gender if gender is not None else F.softmax(gender_logits, 1)
            for block, film in zip(self.blocks, self.films):
                h = block(h, film(g))
            return self.classify(self.pool(h)), gender_logits
        for block in self.blocks:
            h = block(h)
        features = self.pool(h)
        gender_logits = self.gender(features)
        if self.config['useGender']:
            features = torch.cat([features, gender if gender is not None else F.softmax(gender_logits, 1)], 1)
        return self.classify(features), gender_logits

    def pool(self, h):
        if self.pooling == 'attentive':
            return self.attention(h)
        return statistics_pooling(h) if self.pooling == 'stats' else h.mean(2)

    def classify(self, z):
        if self.hidden is not None:
            z = F.relu(self.hidden(z))
        return self.emotion(self.dropout(z))


def ser_loss(emotion_logits, gender_logits, labels, gender_labels, gender_weight=0.5, class_weights=None):
    """Class-weighted emotion cross-entropy (mean weighted by the targets' weights) + gender_weight × the gender head's."""
    return F.cross_entropy(emotion_logits, labels, weight=class_weights) + gender_weight * F.cross_entropy(gender_logits, gender_labels)


def adamw(model, lr=2e-3, weight_decay=1e-2):
    """The engine's optimiser: AdamW (betas 0.9/0.999, eps 1e-8), decoupled weight decay on every parameter."""
    return torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=weight_decay)


# ------------------------------------------------------------------------------------------ checkpoints

def state_dict(model):
    """The parameters and running statistics under the engine's names (torch's batch-count buffer left out)."""
    return {k: v for k, v in model.state_dict().items() if not k.endswith('num_batches_tracked')}


def load_state(model, tensors, source='state'):
    """Loads tensors by name; a missing or unexpected name, or a wrong shape, is an error naming it."""
    own = state_dict(model)
    missing = sorted(set(own) - set(tensors))
    if missing:
        raise ValueError(f'{source}: missing tensors {missing}')
    for name, t in own.items():
        if tuple(tensors[name].shape) != tuple(t.shape):
            raise ValueError(f'{source}: tensor "{name}" has shape {list(tensors[name].shape)} but the model expects {list(t.shape)}')
    model.load_state_dict({k: tensors[k] for k in own}, strict=False)


def load(path, map_location='cpu'):
    """A SerModel from a ser-webgpu checkpoint (any config it holds), in eval mode. Tensors besides the
    weights (a training checkpoint's optimiser moments) are ignored."""
    tensors, metadata = load_safetensors(path)
    if metadata.get('format') != MODEL_FORMAT or 'config' not in metadata:
        raise ValueError(f'{path}: not a ser-webgpu model checkpoint (metadata.format is {metadata.get("format")!r})')
    model = SerModel(json.loads(metadata['config']))
    load_state(model, tensors, path)
    return model.to(map_location).eval()


def save(model, path, metadata=None):
    """A checkpoint the engine reads (`ser predict --model`, `loadRecognizer`, the page's ?model=)."""
    meta = {'format': MODEL_FORMAT, 'config': json.dumps(model.config), 'classes': json.dumps(model.config['classes'])}
    save_safetensors(path, state_dict(model), {**meta, **(metadata or {})})


# ------------------------------------------------------------------------------------------ audio and use

def normalize_level(samples):
    """Zero mean, unit RMS (in float64, as the engine); silence or pure DC comes back as zeros. A NaN or infinite
    sample counts as 0, as src/audio/level.ts counts it (one of them made the whole signal silence)."""
    x = torch.nan_to_num(samples.double(), nan=0.0, posinf=0.0, neginf=0.0)
    x = x - x.mean()
    rms = torch.sqrt((x ** 2).mean())
    return torch.zeros_like(samples, dtype=torch.float32) if not rms > SILENCE_RMS else (x / rms).float()


def window_starts(n, length, hop):
    """Back-to-back windows; after the last full one, a remainder of at least half a window is taken
    end-aligned; a signal no longer than one window gives one (repeated to fill it, see window_at)."""
    if n == 0:
        return []
    if n <= length:
        return [0]
    starts = list(range(0, n - length + 1, hop))
    nxt = starts[-1] + hop
    if nxt - hop + length < n and n - nxt >= length / 2:
        starts.append(n - length)
    return starts


def window_at(samples, start, length):
    """The window from start; a signal shorter than the window is repeated to fill it (no padding silence)."""
    n = samples.shape[0]
    if start + length <= n:
        return samples[start:start + length]
    return samples.repeat(math.ceil(length / n))[:length]


def fixed_windows(samples, length, hop=None):
    return [window_at(samples, s, length) for s in window_starts(samples.shape[0], length, hop or length)]


@torch.no_grad()
def predict(model, samples, gender=None, batch_windows=16):
    """Emotion and gender probabilities of one utterance (samples at the model's rate, any level): the
    average over its windows, as `ser predict` computes them. gender: None, 'f' or 'm'."""
    was_training = model.training
    model.eval()
    L = model.config['windowSamples']
    windows = fixed_windows(normalize_level(samples), L)
    device = next(model.parameters()).device
    pe, pg = 0, 0
    for i in range(0, len(windows), batch_windows):
        x = torch.stack(windows[i:i + batch_windows]).unsqueeze(1).to(device)
        g = None
        if gender is not None:
            g = F.one_hot(torch.full((x.shape[0],), GENDERS.index(gender), device=device), 2).float()
        e, gl = model(x, g)
        pe = pe + F.softmax(e, 1).double().sum(0)
        pg = pg + F.softmax(gl, 1).double().sum(0)
    model.train(was_training)
    return (pe / len(windows)).cpu(), (pg / len(windows)).cpu()


def adaptation_batches(windows, batch_size):
    """The window indices of each adaptation batch, as src/model/adapt.ts's adaptationBatches: as few batches as
    batch_size allows, of sizes that differ by at most one, each taking every k-th window, at least two windows
    each (a speaker with one window gets it twice)."""
    if not (isinstance(batch_size, int) and batch_size >= 2):
        raise ValueError(f'adapt_normalization: batch_size must be an integer of at least 2, got {batch_size}')
    if windows == 0:
        return []
    if windows == 1:
        return [[0, 0]]
    count = min(-(-windows // batch_size), windows // 2)
    return [list(range(b, windows, count)) for b in range(count)]


@torch.no_grad()
def adapt_normalization(model, windows, genders=None, batch_size=32):
    """AdaBN: every batch norm's running statistics become the average of the batch statistics over one
    speaker's windows ([n, L] tensor or list; genders [n, 2] for FiLM models), in the batches of
    adaptation_batches, each weighted by its windows, labels unused, as src/model/adapt.ts does. Returns the
    statistics it replaced."""
    saved = {k: v.clone() for k, v in state_dict(model).items() if 'running_' in k}
    layers = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
    momenta = [m.momentum for m in layers]
    was_training = model.training
    model.train()
    device = next(model.parameters()).device
    windows = torch.stack(list(windows)) if not torch.is_tensor(windows) else windows
    seen = 0
    for chunk in adaptation_batches(len(windows), batch_size):
        seen += len(chunk)
        for m in layers:
            m.momentum = len(chunk) / seen  # a running average weighted by windows
        g = genders[chunk].to(device) if genders is not None else None
        model(windows[chunk].unsqueeze(1).to(device), g)
    for m, mo in zip(layers, momenta):
        m.momentum = mo
    model.train(was_training)
    return saved
