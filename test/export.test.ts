// `ser export --format pytorch` against PyTorch itself (Debian's python3-torch, installed by scripts/setup.sh):
// the exported module, given our weights, must compute our numbers. On real EMO-DB windows: the logits of every
// preset and gender design in eval mode (given and inferred gender) and batch norm adapted to a speaker; and
// two training steps (losses, every gradient, the weights after AdamW, the running statistics) on the CPU
// backend and on WebGPU. test/python/torch_parity.py is the PyTorch side. Skipped, visibly, only where torch or
// the corpus is absent.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { Adam } from '../src/engine/adam.js';
import { init } from '../src/engine/context.js';
import { tensor } from '../src/engine/ops.js';
import { noGrad } from '../src/engine/tensor.js';
import { normalizeLevel } from '../src/audio/level.js';
import { adaptNormalization } from '../src/model/adapt.js';
import { MODEL_PRESETS, withGenderDesign, type GenderDesign, type ModelConfig, type ModelPreset } from '../src/model/config.js';
import { encodeModel } from '../src/model/model-file.js';
import { genderOneHot, SerModel, serLoss } from '../src/model/ser-model.js';
import { exportOnnx } from '../src/export/onnx.js';
import { encodeCorpus, exportPyTorch } from '../src/export/pytorch.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../src/io/safetensors.js';
import { EMODB_CLASSES as CLASSES, emodbMissing, emodbWindows, relL2, runPython, torchMissing } from './torch.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PARITY = join(ROOT, 'test/python/torch_parity.py');

const noTorch = torchMissing();
const noCorpus = emodbMissing();

function skipUnlessReady(ctx: TestContext): void {
  const why = noTorch || noCorpus;
  if (why) {
    console.warn(`skipped: ${why}`);
    ctx.skip(why);
  }
}

/** Windows from..from+size as the inputs x [size,1,L], g [size,2] (one-hot), y and gy (labels, as floats). */
function batchTensors(w: Awaited<ReturnType<typeof emodbWindows>>, from: number, size: number, L: number): Record<string, NamedTensor> {
  const x = new Float32Array(size * L);
  const g = new Float32Array(size * 2);
  for (let k = 0; k < size; k++) {
    x.set(w.windows[from + k], k * L);
    g.set(genderOneHot(w.genders[from + k]), k * 2);
  }
  return {
    x: { shape: [size, 1, L], data: x },
    g: { shape: [size, 2], data: g },
    y: { shape: [size], data: Float32Array.from(w.labels.slice(from, from + size)) },
    gy: { shape: [size], data: Float32Array.from(w.genders.slice(from, from + size)) },
  };
}

const presetConfig = (preset: ModelPreset, design: GenderDesign, changes: Partial<ModelConfig> = {}): ModelConfig => ({
  ...withGenderDesign(MODEL_PRESETS[preset](CLASSES), design),
  ...changes,
});

// aux trains the network of none (no gender input) with the gender loss on: for inference they are one design.
// The third field names a change to the preset (attentive pooling), tried in both gender designs' ways of pooling.
const ATTENTIVE = { pooling: 'attentive' } as const;
const EVAL_CASES: [ModelPreset, GenderDesign, Partial<ModelConfig>][] = [
  ['default', 'concat', {}], ['default', 'film', {}], ['default', 'none', {}],
  ['compact', 'concat', {}], ['compact', 'film', {}], ['compact', 'none', {}],
  ['m5', 'concat', {}], ['m5', 'none', {}],
  ['m5-compact', 'concat', {}], ['m5-compact', 'none', {}],
  ['compact', 'concat', ATTENTIVE], ['compact', 'film', ATTENTIVE],
];
const caseKey = (preset: ModelPreset, design: GenderDesign, changes: Partial<ModelConfig>) => `${preset}/${design}${changes.pooling ? `/${changes.pooling} pooling` : ''}`;

describe('export to PyTorch: eval-mode parity on EMO-DB windows', () => {
  // Every case's engine side first, then one PyTorch process for all of them (its start costs seconds).
  const errors = new Map<string, Record<string, number>>();
  beforeAll(async () => {
    if (noTorch || noCorpus) return;
    await init({ backend: 'cpu' });
    const jobs: { key: string; dir: string; ours: Record<string, Float32Array> }[] = [];
    for (const [preset, design, changes] of EVAL_CASES) {
      const config = presetConfig(preset, design, changes);
      const L = config.windowSamples;
      // The full-size m5 design is slow on the CPU backend: two windows, adapted in one batch (the others: two).
      const n = preset === 'm5' ? 2 : 4;
      const w = await emodbWindows(n, L);
      const model = new SerModel(config, 3);
      const onehots = w.genders.map(genderOneHot);
      // Statistics adapted to these windows in batches of two (the cumulative average), then eval mode.
      await adaptNormalization(model, { windows: w.windows, genders: config.useGender ? onehots : undefined }, 2);
      const inputs = batchTensors(w, 0, n, L);
      const run = (gender: boolean) =>
        noGrad(() => model.forward(tensor(inputs.x.data, [n, 1, L]), gender && config.useGender ? tensor(inputs.g.data, [n, 2]) : undefined));
      model.eval();
      const given = run(true);
      const inferred = run(false);
      const ours: Record<string, Float32Array> = {
        'emotion.given': await given.emotion.toArray(),
        'gender.given': await given.gender.toArray(),
        'emotion.inferred': await inferred.emotion.toArray(),
        'gender.inferred': await inferred.gender.toArray(),
      };
      for (const [name, t] of model.namedBuffers()) ours[`adapted.${name}`] = await t.toArray();
      const dir = mkdtempSync(join(tmpdir(), 'ser-export-'));
      await exportPyTorch(await encodeModel(model), 'test model', dir);
      model.dispose();
      const job = { adaptGenders: config.useGender, adaptBatch: 2 };
      writeFileSync(join(dir, 'inputs.safetensors'), encodeSafetensors(inputs, { job: JSON.stringify(job) }));
      jobs.push({ key: caseKey(preset, design, changes), dir, ours });
    }
    runPython([PARITY, 'eval', ...jobs.flatMap(({ dir }) => [dir, join(dir, 'inputs.safetensors'), join(dir, 'out.safetensors')])]);
    for (const { key, dir, ours } of jobs) {
      const theirs = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'out.safetensors')))).tensors;
      errors.set(key, Object.fromEntries(Object.entries(ours).map(([k, v]) => [k, relL2(v, theirs[k]?.data ?? [])])));
    }
  });

  it.for(EVAL_CASES)('%s preset, %s design %o: logits and AdaBN statistics within 1e-4', ([preset, design, changes], ctx) => {
    skipUnlessReady(ctx);
    const key = caseKey(preset, design, changes);
    const e = errors.get(key)!;
    console.log(`${key}: max relative L2 ${Math.max(...Object.values(e)).toExponential(2)}`, JSON.stringify(e));
    for (const [k, v] of Object.entries(e)) expect(v, k).toBeLessThan(1e-4);
  });

  it('m5 presets refuse FiLM on both sides (it needs the filter bank)', (ctx) => {
    skipUnlessReady(ctx);
    expect(() => new SerModel(presetConfig('m5-compact', 'film'))).toThrow(/film.*needs the filter-bank front end/);
    const code = `import sys, json; sys.path.insert(0, '${ROOT}src/export/python'); import ser_model as sm; sm.SerModel(json.loads(sys.argv[1]))`;
    expect(() => runPython(['-c', code, JSON.stringify(presetConfig('m5-compact', 'film'))])).toThrow(/film.*needs the filter-bank front end/);
  });
});

/** How close to a tie the training parity's inputs may come: closer, rounding alone may route a gradient
 * differently on the two sides (a different gradient, not a wrong one). A max-pool window's two largest values
 * must differ by 1e-5; a ReLU's input must be 1e-6 from 0, ten times the largest forward difference measured
 * between the two sides (values of order one, relative L2 differences up to 1e-7). */
const TIE_MARGIN = { relu: 1e-6, pool: 1e-5 };
/** Groups of windows tried before giving up on finding inputs away from ties. */
const TIE_CHOICES = 12;

/** What two training steps compute on one backend, and what PyTorch computes from the same start. */
async function trainingParity(backend: 'cpu' | 'webgpu', preset: ModelPreset, design: GenderDesign, changes: Partial<ModelConfig>, N: number) {
  await init({ backend });
  // Dropout off: its masks come from different generators on the two sides.
  const config = presetConfig(preset, design, { dropout: 0, ...changes });
  const L = config.windowSamples;
  const classWeights = Float32Array.from(CLASSES, (_, c) => 0.6 + 0.15 * c);
  const genderWeight = design === 'none' ? 0 : 0.5;
  const steps = [{ batch: 0, lr: 2e-3 }, { batch: 1, lr: 1e-3 }];
  const weightDecay = 1e-2;

  const model = new SerModel(config, 5);
  const dir = mkdtempSync(join(tmpdir(), 'ser-export-train-'));
  await exportPyTorch(await encodeModel(model), 'test model', dir);
  // PyTorch first: it picks the first of TIE_CHOICES groups of 2N windows whose activations stay away from ties
  // at every step's weights, and the engine then trains on that group.
  const candidates = await emodbWindows(TIE_CHOICES * 2 * N, L);
  const inputs: Record<string, NamedTensor> = { ...batchTensors(candidates, 0, candidates.windows.length, L), classWeights: { shape: [CLASSES.length], data: classWeights } };
  const job = { steps, weightDecay, genderWeight, batchSize: N, choices: TIE_CHOICES, margin: TIE_MARGIN };
  writeFileSync(join(dir, 'inputs.safetensors'), encodeSafetensors(inputs, { job: JSON.stringify(job) }));
  runPython([PARITY, 'train', dir, join(dir, 'inputs.safetensors'), join(dir, 'out.safetensors')]);
  const theirs = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'out.safetensors')))).tensors;
  const closest = { relu: theirs.margins.data[0], pool: theirs.margins.data[1], choice: theirs.choice.data[0] };
  if (closest.relu <= TIE_MARGIN.relu || closest.pool <= TIE_MARGIN.pool) {
    throw new Error(`no EMO-DB windows among ${TIE_CHOICES} choices stay away from ReLU and max-pool ties (${JSON.stringify(TIE_MARGIN)})`);
  }
  const slice = (k: 'x' | 'g' | 'y' | 'gy', b: number, width: number) => inputs[k].data.subarray((2 * closest.choice + b) * N * width, (2 * closest.choice + b + 1) * N * width);

  const adam = new Adam(model.parameters(), { lr: steps[0].lr, weightDecay });
  const weights = tensor(classWeights, [CLASSES.length]);
  const ours: Record<string, Float32Array> = {};
  model.train();
  for (const [i, step] of steps.entries()) {
    const b = step.batch;
    const x = tensor(slice('x', b, L), [N, 1, L]);
    const g = tensor(slice('g', b, 2), [N, 2]);
    const targets = { labels: Int32Array.from(slice('y', b, 1)), genderLabels: Int32Array.from(slice('gy', b, 1)) };
    const loss = serLoss(model.forward(x, config.useGender ? g : undefined), targets, { genderWeight, classWeights: weights });
    await loss.backward();
    ours[`loss.${i}`] = await loss.toArray();
    for (const [name, p] of model.namedParameters()) ours[`grad.${i}.${name}`] = await p.grad!.toArray();
    adam.lr = step.lr;
    adam.step();
    adam.zeroGrad();
  }
  for (const [name, t] of [...model.namedParameters(), ...model.namedBuffers()]) ours[`final.${name}`] = await t.toArray();
  adam.dispose();
  model.dispose();
  const weightsAfter = Object.fromEntries(Object.entries(ours).filter(([k]) => k.startsWith('final.') && !k.includes('running_')));
  return { loss: worstOf(ours, theirs, 'loss.'), grad: worstOf(ours, theirs, 'grad.'), final: worstOf(weightsAfter, theirs, 'final.'), stats: worstOf(ours, theirs, 'running_'), closest };
}

/** The tensor whose name holds `part` with the largest relative L2 error (a name PyTorch lacks counts as Infinity). */
function worstOf(ours: Record<string, Float32Array>, theirs: Record<string, NamedTensor>, part: string) {
  const keys = Object.keys(ours).filter((k) => k.includes(part));
  expect(keys.length, part).toBeGreaterThan(0);
  return keys
    .map((k) => ({ k, e: relL2(ours[k], theirs[k]?.data ?? []) }))
    .reduce((a, b) => (b.e > a.e ? b : a));
}

// Batches of 4 windows; the m5 design reads 3 windows of 0.1 s, or its first layer's many outputs (16 channels
// at a quarter of the sample rate) would always hold a near-tie somewhere.
const COMPACT = [{}, 4] as const;
const M5_SHORT = [{ windowSamples: 1600 }, 3] as const;
const TRAIN_CASES: ['cpu' | 'webgpu', ModelPreset, GenderDesign, Partial<ModelConfig>, number][] = [
  ['cpu', 'compact', 'concat', ...COMPACT], ['cpu', 'compact', 'film', ...COMPACT], ['cpu', 'compact', 'aux', ...COMPACT], ['cpu', 'compact', 'none', ...COMPACT],
  ['cpu', 'm5-compact', 'concat', ...M5_SHORT],
  ['webgpu', 'compact', 'concat', ...COMPACT], ['webgpu', 'compact', 'film', ...COMPACT], ['webgpu', 'm5-compact', 'aux', ...M5_SHORT],
  ['cpu', 'compact', 'concat', ATTENTIVE, 4], ['webgpu', 'compact', 'none', ATTENTIVE, 4],
];

describe('export to PyTorch: two training steps agree', () => {
  it.for(TRAIN_CASES)('%s backend, %s preset, %s design, changes %o: loss within 1e-4, gradients, AdamW weights and BN statistics within 1e-3', async ([backend, preset, design, changes, batch], ctx) => {
    skipUnlessReady(ctx);
    const r = await trainingParity(backend, preset, design, changes, batch);
    const closest = `ReLU ${r.closest.relu.toExponential(2)}, max-pool ${r.closest.pool.toExponential(2)} (window choice ${r.closest.choice})`;
    console.log(`${backend}/${preset}/${design}: loss ${r.loss.e.toExponential(2)}, worst gradient ${r.grad.k} ${r.grad.e.toExponential(2)}, ` +
      `worst weight after AdamW ${r.final.k} ${r.final.e.toExponential(2)}, worst BN statistic ${r.stats.k} ${r.stats.e.toExponential(2)}, closest ties ${closest}`);
    expect(r.loss.e, r.loss.k).toBeLessThan(1e-4);
    expect(r.grad.e, r.grad.k).toBeLessThan(1e-3);
    expect(r.final.e, r.final.k).toBeLessThan(1e-3);
    expect(r.stats.e, r.stats.k).toBeLessThan(1e-3);
  });
});

describe('export: bad input is refused with errors that name it', () => {
  it('in PyTorch: a NaN or infinite sample counts as 0 in level normalisation, as in the engine', (ctx) => {
    if (noTorch) ctx.skip(noTorch);
    const samples = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i / 3) + 0.25);
    [samples[5], samples[20], samples[40]] = [NaN, Infinity, -Infinity];
    const dir = mkdtempSync(join(tmpdir(), 'ser-export-level-'));
    writeFileSync(join(dir, 'in.safetensors'), encodeSafetensors({ x: { shape: [samples.length], data: samples } }));
    const code = `import sys; sys.path.insert(0, '${ROOT}src/export/python'); import ser_model as sm; t, _ = sm.load_safetensors(sys.argv[1]); sm.save_safetensors(sys.argv[2], {'y': sm.normalize_level(t['x'])})`;
    runPython(['-c', code, join(dir, 'in.safetensors'), join(dir, 'out.safetensors')]);
    const theirs = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'out.safetensors')))).tensors.y.data;
    expect(relL2(normalizeLevel(samples), theirs)).toBeLessThan(1e-6);
  });

  it('a corpus with an emotion the model does not know', () => {
    const utterance = { file: 'a.wav', speaker: 's1', gender: 'f' as const, emotion: 'calm', samples: new Float32Array(16) };
    expect(() => encodeCorpus({ name: 'c', utterances: [utterance] }, ['angry', 'sad'], 16000)).toThrow(/corpus c: emotions \[calm\] are not among the model's classes \[angry, sad\]/);
  });

  it('a damaged checkpoint, in both formats', async () => {
    await init({ backend: 'cpu' });
    const bytes = await encodeModel(new SerModel(presetConfig('compact', 'concat')));
    const damaged = bytes.slice(0, bytes.length - 8);
    const dir = mkdtempSync(join(tmpdir(), 'ser-export-bad-'));
    await expect(exportPyTorch(damaged, 'broken.safetensors', dir)).rejects.toThrow(/^broken.safetensors: .*(truncated|cover)/);
    expect(() => exportOnnx(damaged, 'broken.safetensors')).toThrow(/^broken.safetensors: /);
  });

  it('in PyTorch: a checkpoint without a tensor, and a corpus exported for other classes', async (ctx) => {
    skipUnlessReady(ctx);
    await init({ backend: 'cpu' });
    const model = new SerModel(presetConfig('compact', 'concat'));
    const state = await model.stateDict();
    model.dispose();
    const dir = mkdtempSync(join(tmpdir(), 'ser-export-bad-'));
    const corpus = { name: 'tiny', utterances: [{ file: 'a.wav', speaker: 's1', gender: 'f' as const, emotion: 'sad', samples: new Float32Array(16000) }] };
    await exportPyTorch(await encodeModel(new SerModel(presetConfig('compact', 'concat'))), 'm', dir, corpus);
    const { metadata } = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
    delete state['emotion.bias'];
    writeFileSync(join(dir, 'incomplete.safetensors'), encodeSafetensors(state, metadata));
    const load = `import sys; sys.path.insert(0, sys.argv[1]); import ser_model; ser_model.load(sys.argv[2])`;
    expect(() => runPython(['-c', load, dir, join(dir, 'incomplete.safetensors')])).toThrow(/incomplete.safetensors: missing tensors \['emotion.bias'\]/);
    // A model with other classes than the corpus was exported for: its labels would be misread.
    const other = { ...presetConfig('compact', 'concat'), classes: ['sad', 'angry'] };
    const otherDir = mkdtempSync(join(tmpdir(), 'ser-export-bad-'));
    await exportPyTorch(await encodeModel(new SerModel(other)), 'other', otherDir);
    const train = [join(dir, 'train_ddp.py'), '--model', join(otherDir, 'model.safetensors'), '--corpus', join(dir, 'corpus.safetensors'), '--out', join(dir, 'x.safetensors'), '--cpu'];
    expect(() => runPython(train)).toThrow(/corpus.safetensors: classes \[.*\] differ from the model's \['sad', 'angry'\]/);
    // Tensors whose bytes overlap (b reads the second half of a's), as the TypeScript reader refuses them.
    const header = new TextEncoder().encode(JSON.stringify({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }).padEnd(104));
    const overlapping = new Uint8Array(8 + header.length + 16);
    new DataView(overlapping.buffer).setBigUint64(0, BigInt(header.length), true);
    overlapping.set(header, 8);
    writeFileSync(join(dir, 'overlapping.safetensors'), overlapping);
    const read = `import sys; sys.path.insert(0, sys.argv[1]); import ser_model; ser_model.load_safetensors(sys.argv[2])`;
    expect(() => decodeSafetensors(overlapping)).toThrow(/starts at byte 4, expected 8/);
    expect(() => runPython(['-c', read, dir, join(dir, 'overlapping.safetensors')])).toThrow(/overlapping.safetensors: tensor "b" starts at byte 4, expected 8/);
  });
});
