// An ensemble decides as the mean of its networks' probabilities, everywhere a model is used: its forward pass,
// speaker adaptation and evaluation (each member adapts to the speaker on its own), classify(), the model file,
// and `ser ensemble`, which refuses networks that do not read the same windows or name the same classes.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecognizer, loadRecognizer } from '../src/embed.js';
import { init } from '../src/engine/context.js';
import { softmax, tensor } from '../src/engine/ops.js';
import { noGrad } from '../src/engine/tensor.js';
import { compactModelConfig, withGenderDesign } from '../src/model/config.js';
import { configDifference, SerEnsemble } from '../src/model/ensemble.js';
import { decodeModel, encodeModel, singleNetwork } from '../src/model/model-file.js';
import { SerModel } from '../src/model/ser-model.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { exportPyTorch } from '../src/export/pytorch.js';
import { predictExamples } from '../src/train/evaluate.js';
import { toExamples } from '../src/train/dataset.js';
import { generateSyntheticCorpus } from '../src/train/synthetic.js';
import { cliForTests } from './cli.js';
import { tinyModel } from './tiny-experiment.js';

const CLASSES = ['angry', 'happy', 'sad', 'neutral'];
const config = tinyModel(CLASSES, { frontEnd: { filters: 8, kernel: 64, hop: 32, minHz: 60, maxHz: 7600 }, pooling: 'stats', speakerNormalization: true, hidden: 6, dropout: 0.2 });
const members = (seeds: number[]) => seeds.map((s) => new SerModel(config, s));

let dir = '';
beforeAll(async () => {
  await init({ backend: 'cpu' });
  dir = await mkdtemp(join(tmpdir(), 'ser-ensemble-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Random windows [n, 1, L] and gender one-hots [n, 2]. */
function batch(n: number, seed: number) {
  let s = seed;
  const random = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const x = Float32Array.from({ length: n * config.windowSamples }, random);
  const g = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) g[2 * i + (i % 2)] = 1;
  return { x, g, n };
}

/** softmax of each output of `net` on the batch, gender given or not. */
async function probabilities(net: SerModel | SerEnsemble, b: ReturnType<typeof batch>, given: boolean) {
  net.eval();
  const out = noGrad(() => net.forward(tensor(b.x, [b.n, 1, config.windowSamples]), given ? tensor(b.g, [b.n, 2]) : undefined));
  return { emotion: await softmax(out.emotion).toArray(), gender: await softmax(out.gender).toArray() };
}

const mean = (arrays: Float32Array[]) => Float32Array.from(arrays[0], (_, i) => arrays.reduce((s, a) => s + a[i], 0) / arrays.length);

describe('SerEnsemble', () => {
  it('gives the mean of its members\' probabilities, the gender given or inferred by each member', async () => {
    const nets = members([1, 2, 3]);
    const b = batch(5, 7);
    for (const given of [true, false]) {
      const each = await Promise.all(nets.map((m) => probabilities(m, b, given)));
      const together = await probabilities(new SerEnsemble(nets), b, given);
      expect(Array.from(together.emotion)).toEqual(Array.from(mean(each.map((p) => p.emotion))).map((v) => expect.closeTo(v, 6)));
      expect(Array.from(together.gender)).toEqual(Array.from(mean(each.map((p) => p.gender))).map((v) => expect.closeTo(v, 6)));
    }
    nets.forEach((m) => m.dispose());
  });

  it('refuses fewer than two networks, and networks of other configurations, naming the field', () => {
    const [one] = members([1]);
    expect(() => new SerEnsemble([one])).toThrow('an ensemble holds 2 to 32 networks, got 1');
    const other = new SerModel({ ...config, windowSamples: 8000 }, 2);
    expect(() => new SerEnsemble([one, other])).toThrow('ensemble: member 1 has another configuration than member 0 (windowSamples: 4000 vs 8000)');
    one.dispose();
    other.dispose();
  });

  it('compares configurations field by field, whatever their order', () => {
    const reordered = Object.fromEntries(Object.entries(config).reverse()) as typeof config;
    expect(configDifference(config, reordered)).toBeUndefined();
    expect(configDifference(config, { ...config, classes: ['a', 'b', 'c', 'd'] })).toBe('classes: ["angry","happy","sad","neutral"] vs ["a","b","c","d"]');
    expect(configDifference(withGenderDesign(config, 'none'), config)).toBe('useGender: false vs true');
  });

  it('adapts each member to a speaker on its own: evaluation scores the mean of the members\' adapted probabilities', async () => {
    const corpus = generateSyntheticCorpus({ speakers: 2, utterancesPerEmotion: 1, seconds: 0.5, seed: 3 });
    const examples = toExamples(corpus.utterances, corpus.classes, config.windowSamples);
    const cfg = { ...config, classes: corpus.classes };
    const seeds = [4, 5];
    const alone: Awaited<ReturnType<typeof predictExamples>>[] = [];
    for (const s of seeds) {
      const m = new SerModel(cfg, s);
      alone.push(await predictExamples(m, examples, { useTrueGender: true }));
      m.dispose();
    }
    const ensemble = new SerEnsemble(seeds.map((s) => new SerModel(cfg, s)));
    const together = await predictExamples(ensemble, examples, { useTrueGender: true });
    ensemble.dispose();
    together.forEach((p, i) => {
      const expected = p.probabilities.map((_, c) => (alone[0][i].probabilities[c] + alone[1][i].probabilities[c]) / 2);
      expect(p.probabilities).toEqual(expected.map((v) => expect.closeTo(v, 6)));
    });
  });
});

describe('an ensemble model file', () => {
  it('round-trips: decoded, it classifies as the ensemble it was written from', async () => {
    const ensemble = new SerEnsemble(members([1, 2]));
    const bytes = await encodeModel(ensemble);
    expect(decodeSafetensors(bytes).metadata.members).toBe('2');
    const b = batch(3, 11);
    const before = await probabilities(ensemble, b, false);
    const { model } = decodeModel(bytes, 'ensemble.safetensors');
    expect(model).toBeInstanceOf(SerEnsemble);
    expect(await probabilities(model, b, false)).toEqual(before);
    // The recogniser takes it as it takes one network.
    const samples = b.x.subarray(0, config.windowSamples);
    const recognizer = createRecognizer(model);
    const r = await recognizer.classify(samples, 16000);
    const alone = await Promise.all(ensemble.members.map((m) => createRecognizer(m).classify(samples, 16000)));
    for (const c of CLASSES) expect(r.probabilities[c]).toBeCloseTo((alone[0].probabilities[c] + alone[1].probabilities[c]) / 2, 6);
    recognizer.dispose();
    ensemble.dispose();
  });

  it('refuses a bad member count and missing members, naming the file', async () => {
    const ensemble = new SerEnsemble(members([1, 2]));
    const { tensors, metadata } = decodeSafetensors(await encodeModel(ensemble));
    ensemble.dispose();
    for (const members of ['1', '33', 'two', '2.0', '']) {
      expect(() => decodeModel(encodeSafetensors(tensors, { ...metadata, members }), 'e.safetensors'), members).toThrow(/^e\.safetensors: metadata\.members must be a count of networks from 2 to 32, got/);
    }
    // Three members declared, two stored.
    expect(() => decodeModel(encodeSafetensors(tensors, { ...metadata, members: '3' }), 'e.safetensors')).toThrow(/^e\.safetensors: config describes \d+ weights but the file holds only \d+ values/);
    const onlyFirst = Object.fromEntries(Object.entries(tensors).filter(([name]) => !name.startsWith('member1.')));
    const padded = { ...onlyFirst, padding: { shape: [100000], data: new Float32Array(100000) } };
    expect(() => decodeModel(encodeSafetensors(padded, metadata), 'e.safetensors')).toThrow(/^e\.safetensors: loadStateDict: missing \[member1\./);
  });

  it('goes where one network is needed only with a clear refusal: resuming training, the PyTorch export', async () => {
    const ensemble = new SerEnsemble(members([1, 2]));
    const bytes = await encodeModel(ensemble);
    ensemble.dispose();
    expect(() => singleNetwork(decodeModel(bytes, 'e.safetensors').model, 'e.safetensors', 'resuming a training run')).toThrow(
      'e.safetensors: an ensemble of 2 networks (ser ensemble), but resuming a training run takes one network: give it one of the files the ensemble was made from',
    );
    await expect(exportPyTorch(bytes, 'e.safetensors', join(dir, 'pytorch'))).rejects.toThrow(/^e\.safetensors: an ensemble of 2 networks .* the PyTorch export takes one network/);
    const [one] = members([3]);
    expect(singleNetwork(one, 'one', 'x')).toBe(one);
    one.dispose();
  });
});

describe('ser ensemble', () => {
  const cli = cliForTests();
  const file = (name: string) => join(dir, name);
  const write = async (name: string, net: SerModel | SerEnsemble, metadata: Record<string, string> = { corpus: 'test' }) => {
    await writeFile(file(name), await encodeModel(net, {}, metadata));
    net.dispose();
  };

  it('writes one file from several, an ensemble among them joining member by member, which loadRecognizer reads', async () => {
    await write('a.safetensors', new SerModel(config, 1));
    await write('bc.safetensors', new SerEnsemble(members([2, 3])));
    const r = await cli.run(['ensemble', file('a.safetensors'), file('bc.safetensors'), '--out', file('abc.safetensors')]);
    expect(r.stderr.split('\n').filter((l) => l && !l.startsWith('Warning:'))).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${file('abc.safetensors')}: an ensemble of 3 networks (angry, happy, sad, neutral)\n`);
    const bytes = new Uint8Array(await readFile(file('abc.safetensors')));
    expect(decodeSafetensors(bytes).metadata).toMatchObject({ members: '3', corpus: 'test' });
    const recognizer = await loadRecognizer(bytes);
    expect(recognizer.model).toBeInstanceOf(SerEnsemble);
    // Member by member, in the order given: a (seed 1), then b and c.
    const expected = new SerEnsemble(members([1, 2, 3]));
    const b = batch(2, 5);
    expect(await probabilities(recognizer.model, b, true)).toEqual(await probabilities(expected, b, true));
    expected.dispose();
    recognizer.dispose();
  });

  it('refuses networks of another configuration, naming the file and the field, and a single network', async () => {
    await write('long.safetensors', new SerModel({ ...config, windowSamples: 8000 }, 1));
    const r = await cli.run(['ensemble', file('a.safetensors'), file('long.safetensors'), '--out', file('bad.safetensors')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`ser: ${file('long.safetensors')}: another configuration than ${file('a.safetensors')} (windowSamples: 4000 vs 8000)`);
    const single = await cli.run(['ensemble', file('a.safetensors'), '--out', file('bad.safetensors')]);
    expect(single.code).toBe(1);
    expect(single.stderr).toContain('ser: an ensemble holds 2 to 32 networks, got 1');
    await expect(readFile(file('bad.safetensors'))).rejects.toThrow(/ENOENT/);
  });
});
