"""The PyTorch column of `npm run bench -- --torch`: the benchmark's model cases (a training step and an
inference batch) and GEMM cases, timed in PyTorch eager on the same shapes, so that the ratio to PyTorch comes
out of the same run. The network is src/export/python/ser_model.py, the model `ser export --format pytorch`
writes: the engine's own network parameter for parameter. fp32 with TF32 off; CUDA where present, else the CPU.

    python3 bench/torch_bench.py < cases.json      (bench/torch.ts writes the cases and reads the last line)

Input: {"timing": {"repeats", "minSampleMs", "budgetMs"}, "cases": [{"name", "kind": "train"|"infer",
"config": ModelConfig, "batch"} | {"name", "kind": "gemm", "m", "n", "k", "op": "fwd"|"bwdA"|"bwdB"}]}.
Output, as the last line: {"torch", "device", "threads", "results": {name: ms}, "failed": {name: error}}, ms the
median per run; a case that raises (CUDA out of memory, say) is named in "failed" and the others still run.
Timing as bench/timing.ts: a warm-up run, then samples of k runs ended by a device sync, k grown until a sample
lasts minSampleMs, up to `repeats` samples within budgetMs per case.
"""
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'src', 'export', 'python'))
import ser_model  # noqa: E402

DEVICE = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
# fp32 as the engine computes: no TF32 in matmuls or convolutions.
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


def sync():
    if DEVICE.type == 'cuda':
        torch.cuda.synchronize()


def measure(run, timing):
    """Median milliseconds per run (see the module's docstring)."""
    def sample(k):
        t0 = time.perf_counter()
        for _ in range(k):
            run()
        sync()
        return (time.perf_counter() - t0) * 1000

    sample(1)
    started = time.perf_counter()
    batch, last = 1, sample(1)
    samples = [last]
    while last < timing['minSampleMs'] and batch < 4096:
        batch = min(4096, int(batch * min(16, (1.25 * timing['minSampleMs']) / max(last, 0.01))) + 1)
        last = sample(batch)
        samples = [last / batch]
    while len(samples) < timing['repeats'] and (time.perf_counter() - started) * 1000 + last < timing['budgetMs']:
        last = sample(batch)
        samples.append(last / batch)
    return statistics.median(samples)


def model_case(case):
    """The run of a training step (forward, loss, backward, AdamW as the engine's trainer) or an inference batch."""
    config, n = case['config'], case['batch']
    torch.manual_seed(1)
    model = ser_model.SerModel(config).to(DEVICE)
    x = torch.rand(n, 1, config['windowSamples'], device=DEVICE) - 0.5
    gender_labels = torch.arange(n, device=DEVICE) % 2
    g = F.one_hot(gender_labels, 2).float()
    labels = torch.arange(n, device=DEVICE) % len(config['classes'])
    use_gender = config['useGender']
    if case['kind'] == 'infer':
        model.eval()

        def infer():
            with torch.no_grad():
                emotion, gender = model(x, g if use_gender else None)
                F.softmax(emotion, 1), F.softmax(gender, 1)
        return infer
    model.train()
    optimizer = ser_model.adamw(model, lr=1e-3, weight_decay=0)

    def train():
        emotion, gender = model(x, g if use_gender else None)
        loss = ser_model.ser_loss(emotion, gender, labels, gender_labels, 0.5)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return train


def gemm_case(case):
    """C = A·B (fwd), dA = dC·Bᵀ (bwdA), dB = Aᵀ·dC (bwdB) at M = N = K, as bench/cases-kernels.ts."""
    m, n, k = case['m'], case['n'], case['k']
    a = torch.randn(m, k, device=DEVICE)
    b = torch.randn(k, n, device=DEVICE)
    dc = torch.randn(m, n, device=DEVICE)
    op = case['op']
    if op == 'fwd':
        return lambda: torch.mm(a, b)
    if op == 'bwdA':
        return lambda: torch.mm(dc, b.t())
    return lambda: torch.mm(a.t(), dc)


def main():
    request = json.load(sys.stdin)
    results, failed = {}, {}
    for case in request['cases']:
        name = case['name']
        try:
            run = gemm_case(case) if case['kind'] == 'gemm' else model_case(case)
            results[name] = measure(run, request['timing'])
            print(f"{name}: {results[name]:.3f} ms", file=sys.stderr)
        except Exception as e:  # noqa: BLE001 -- one case's failure costs its row, not the column's other rows
            failed[name] = f'{type(e).__name__}: {e}'.splitlines()[0]
            print(f"{name}: failed: {failed[name]}", file=sys.stderr)
            if DEVICE.type == 'cuda':
                torch.cuda.empty_cache()
    device = torch.cuda.get_device_name(0) if DEVICE.type == 'cuda' else 'cpu'
    print(json.dumps({'torch': torch.__version__, 'device': device, 'threads': torch.get_num_threads(), 'results': results, 'failed': failed}))


if __name__ == '__main__':
    main()
