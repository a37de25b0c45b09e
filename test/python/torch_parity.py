"""The PyTorch side of test/export.test.ts, test/export-iemocap.test.ts and test/adam.test.ts: runs the exported
ser_model.py (and train_ddp.py) on the inputs the test wrote and writes what PyTorch computes, for the test to
compare with the engine's numbers.

    torch_parity.py eval  EXPORT_DIR INPUTS OUT [EXPORT_DIR INPUTS OUT ...]   # logits (gender given and
                                                  # inferred); AdaBN statistics; one process for many models
    torch_parity.py train EXPORT_DIR INPUTS OUT   # losses, gradients, weights after AdamW, running statistics
    torch_parity.py predict EXPORT_DIR MODEL CORPUS OUT   # utterance probabilities of a (trained) checkpoint
    torch_parity.py adamw EXPORT_DIR INPUTS OUT   # parameters after each step of ser_model.adamw (torch.optim.AdamW)
                                                  # on given gradients, some absent (grad None) in some steps
    torch_parity.py folds EXPORT_DIR CORPUS CASES OUT     # train_ddp.py's folds of an exported corpus for each case
                                                  # (JSON [scheme, seed, validation]), its groups and unscored count
    torch_parity.py speakers EXPORT_DIR CORPUS SPEAKERS OUT   # train_ddp.py's predictions of those speakers'
                                                  # utterances, batch norm adapted as at the end of a fold

INPUTS is a safetensors file whose metadata `job` (JSON) says what to run. Everything is float32, as users run
the module. The `train` job is given several choices of windows and takes the first whose activations stay
away from ReLU and max-pool ties (measured in float64) at every step, where rounding alone could route a
gradient differently; it reports the choice for the engine to train on.
"""
import copy
import json
import sys

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
sys.path.insert(0, sys.argv[2])
import ser_model as sm  # noqa: E402


def run_eval(export_dir, tensors, job, out):
    model = sm.load(f'{export_dir}/model.safetensors')
    x, g = tensors['x'], tensors['g']
    with torch.no_grad():
        e, gl = model(x, g if model.config['useGender'] else None)
        out['emotion.given'], out['gender.given'] = e, gl
        e, gl = model(x)
        out['emotion.inferred'], out['gender.inferred'] = e, gl
    # AdaBN from the checkpoint's own statistics: the engine adapted to the same windows, in the same batches.
    sm.adapt_normalization(model, x.squeeze(1), g if job['adaptGenders'] else None, batch_size=job['adaptBatch'])
    for k, v in sm.state_dict(model).items():
        if 'running_' in k:
            out[f'adapted.{k}'] = v


def tie_margins(model, x, g):
    """The smallest |pre-activation| of every ReLU and the smallest gap between the two largest values of a
    max-pool window (windows whose maximum is positive; at 0 both choices pass no gradient), in float64."""
    m = copy.deepcopy(model).double().train()
    x, g = x.double(), g.double()
    relu, gap = float('inf'), float('inf')
    with torch.no_grad():
        h = m.frontend_bn(m.frontend(x)) if hasattr(m, 'frontend') else x
        gi = g if m.config['useGender'] else None
        if m.film and gi is None:
            gi = F.softmax(m.gender(sm.statistics_pooling(h)), 1)
        for i, block in enumerate(m.blocks):
            y = block.bn(block.conv(h))
            if m.film:
                scale, shift = m.films[i](gi)
                y = y * scale + shift
            relu = min(relu, float(y.abs().min()))
            y = F.relu(y)
            p = block.pool
            if p > 1 and y.shape[2] >= p:
                w = y[:, :, :y.shape[2] // p * p].reshape(*y.shape[:2], -1, p)
                top = w.topk(2, -1).values
                positive = top[..., 0] > 0
                if positive.any():
                    gap = min(gap, float((top[..., 0] - top[..., 1])[positive].min()))
                y = F.max_pool1d(y, p)
            h = y
        if m.hidden is not None:
            z = m.pool(h)
            if m.config['useGender'] and not m.film:
                z = torch.cat([z, gi if gi is not None else F.softmax(m.gender(z), 1)], 1)
            relu = min(relu, float(m.hidden(z).abs().min()))
    return relu, gap


def train_steps(model, tensors, job, choice):
    """The job's steps on the choice-th group of 2N candidate windows (batch 0: its first N, batch 1: the rest)."""
    n = job['batchSize']
    take = lambda key, b: tensors[key][(2 * choice + b) * n:(2 * choice + b + 1) * n]
    opt = sm.adamw(model, job['steps'][0]['lr'], job['weightDecay'])
    names = [n for n, _ in model.named_parameters()]
    out, relu, pool = {}, float('inf'), float('inf')
    for i, step in enumerate(job['steps']):
        x, g, y, gy = (take(k, step['batch']) for k in ('x', 'g', 'y', 'gy'))
        r, p = tie_margins(model, x, g)  # at this step's weights
        relu, pool = min(relu, r), min(pool, p)
        for group in opt.param_groups:
            group['lr'] = step['lr']
        e, gl = model(x, g if model.config['useGender'] else None)
        loss = sm.ser_loss(e, gl, y.long(), gy.long(), job['genderWeight'], tensors['classWeights'])
        opt.zero_grad()
        loss.backward()
        out[f'loss.{i}'] = loss.detach().reshape(1)
        for name, param in zip(names, model.parameters()):
            out[f'grad.{i}.{name}'] = param.grad.clone()  # zero_grad clears .grad in place
        opt.step()
    for k, v in sm.state_dict(model).items():
        out[f'final.{k}'] = v
    out['margins'] = torch.tensor([relu, pool])
    return out


def run_train(tensors, job, out):
    """The first choice of windows whose activations stay away from ties at every step (see tie_margins)."""
    model = sm.load(f'{sys.argv[2]}/model.safetensors').train()
    for choice in range(job['choices']):
        result = train_steps(copy.deepcopy(model), tensors, job, choice)
        relu, pool = result['margins'].tolist()
        if relu > job['margin']['relu'] and pool > job['margin']['pool']:
            break
    out.update(result)
    out['choice'] = torch.tensor([float(choice)])


def run_adamw(tensors, job, out):
    """Parameters param.I, then each step S of job['steps'] ({lr, grads: the indices given a gradient}) with the
    gradients grad.S.I: the parameters after each step as param.S.I. The others have grad None that step."""
    params = [torch.nn.Parameter(tensors[f'param.{i}'].clone()) for i in range(job['params'])]
    opt = sm.adamw(torch.nn.ParameterList(params), job['lr'], job['weightDecay'])
    for s, step in enumerate(job['steps']):
        for group in opt.param_groups:
            group['lr'] = step['lr']
        opt.zero_grad(set_to_none=True)
        for i in step['grads']:
            params[i].grad = tensors[f'grad.{s}.{i}'].clone()
        opt.step()
        for i, p in enumerate(params):
            out[f'param.{s}.{i}'] = p.detach().clone()


def run_predict(out):
    model = sm.load(sys.argv[3])
    tensors, meta = sm.load_safetensors(sys.argv[4])
    for u in json.loads(meta['utterances']):
        pe, pg = sm.predict(model, tensors[u['tensor']])
        out[f'p.{u["tensor"]}'] = pe.float()


def run_folds():
    import train_ddp  # beside ser_model.py in the export folder
    model = sm.load(f'{sys.argv[2]}/model.safetensors')
    _, examples, unscored, groups, genders = train_ddp.load_corpus(sys.argv[3], model.config)
    cases = json.loads(sys.argv[4])
    folds = [train_ddp.speaker_folds(groups, genders, scheme, validation, seed) for scheme, seed, validation in cases]
    with open(sys.argv[5], 'w') as f:
        json.dump({'groups': groups, 'unscored': len(unscored), 'examples': len(examples), 'folds': folds}, f)


def run_speakers(out):
    """Probabilities p.I (emotion) and g.I (gender) of the I-th utterance of the given speakers, in corpus order."""
    import train_ddp
    model = sm.load(f'{sys.argv[2]}/model.safetensors')
    _, examples, unscored, _, _ = train_ddp.load_corpus(sys.argv[3], model.config)
    speakers = sys.argv[4].split(',')
    test = [e for e in examples if e['speaker'] in speakers]
    for i, (p, g) in enumerate(train_ddp.predict_speakers(model, test, model.config['useGender'], 'cpu', unscored)):
        out[f'p.{i}'], out[f'g.{i}'] = p.float(), g.float()


if __name__ == '__main__':
    kind = sys.argv[1]
    out = {}
    if kind == 'folds':
        run_folds()
    elif kind == 'speakers':
        run_speakers(out)
        sm.save_safetensors(sys.argv[5], out)
    elif kind == 'predict':
        run_predict(out)
        sm.save_safetensors(sys.argv[5], out)
    elif kind == 'eval':
        for i in range(2, len(sys.argv), 3):
            tensors, meta = sm.load_safetensors(sys.argv[i + 1])
            out = {}
            run_eval(sys.argv[i], tensors, json.loads(meta['job']), out)
            sm.save_safetensors(sys.argv[i + 2], out)
    elif kind == 'adamw':
        tensors, meta = sm.load_safetensors(sys.argv[3])
        run_adamw(tensors, json.loads(meta['job']), out)
        sm.save_safetensors(sys.argv[4], out)
    else:
        tensors, meta = sm.load_safetensors(sys.argv[3])
        run_train(tensors, json.loads(meta['job']), out)
        sm.save_safetensors(sys.argv[4], out)
