// `ser export --format onnx` in ONNX Runtime (onnxruntime-node, the same runtime as onnxruntime-web): the graph
// of every preset and gender design gives the engine's logits on the same EMO-DB windows, with the gender given
// and not given (zero rows: the gender head decides, as in the engine), and an ensemble's. Real speech, not the
// synthetic corpus: its near-silent frames put float32 rounding of the filter bank's convolution (ONNX Runtime
// sums in float32, our CPU reference in float64) right at the log's floor, up to 1e-4 apart in the logits.

import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { init } from '../src/engine/context.js';
import { tensor } from '../src/engine/ops.js';
import { noGrad } from '../src/engine/tensor.js';
import { adaptNormalization } from '../src/model/adapt.js';
import { MODEL_PRESETS, withGenderDesign, type GenderDesign, type ModelConfig, type ModelPreset } from '../src/model/config.js';
import { SerEnsemble } from '../src/model/ensemble.js';
import { encodeModel } from '../src/model/model-file.js';
import { genderOneHot, SerModel } from '../src/model/ser-model.js';
import { exportOnnx, ONNX_OPSET } from '../src/export/onnx.js';
import { EMODB_CLASSES, emodbMissing, emodbWindows, relL2 } from './torch.js';

const noCorpus = emodbMissing();
// m5 builds the same graph as m5-compact with wider layers (slow on the CPU reference; it is in the PyTorch test).
// The third field changes the preset: attentive pooling, in both gender designs' ways of pooling.
const ATTENTIVE = { pooling: 'attentive' } as const;
const CASES: [ModelPreset, GenderDesign, Partial<ModelConfig>][] = [
  ['default', 'concat', {}], ['default', 'film', {}], ['default', 'none', {}],
  ['compact', 'concat', {}], ['compact', 'film', {}], ['compact', 'none', {}],
  ['m5-compact', 'concat', {}], ['m5-compact', 'none', {}],
  ['compact', 'concat', ATTENTIVE], ['compact', 'film', ATTENTIVE],
];

describe('export to ONNX: onnxruntime-node gives the engine\'s logits', () => {
  it.for(CASES)('%s preset, %s design, changes %o: within 1e-4, gender given and inferred', async ([preset, design, changes], ctx) => {
    if (noCorpus) {
      console.warn(`skipped: ${noCorpus}`);
      ctx.skip(noCorpus);
    }
    await init({ backend: 'cpu' });
    const config = { ...withGenderDesign(MODEL_PRESETS[preset](EMODB_CLASSES), design), ...changes };
    const L = config.windowSamples;
    const w = await emodbWindows(3, L);
    const windows = w.windows;
    const genders = w.genders.map(genderOneHot);
    const n = windows.length;
    const model = new SerModel(config, 9);
    await adaptNormalization(model, { windows, genders: config.useGender ? genders : undefined });
    model.eval();
    const x = new Float32Array(n * L);
    windows.forEach((w, i) => x.set(w, i * L));
    const g = new Float32Array(n * 2);
    genders.forEach((v, i) => g.set(v, i * 2));
    const ours = async (given: boolean) => {
      const out = noGrad(() => model.forward(tensor(x, [n, 1, L]), given && config.useGender ? tensor(g, [n, 2]) : undefined));
      return { emotion: await out.emotion.toArray(), gender: await out.gender.toArray() };
    };
    const [given, inferred] = [await ours(true), await ours(false)];
    const bytes = exportOnnx(await encodeModel(model), 'test model');
    model.dispose();

    const session = await ort.InferenceSession.create(bytes);
    expect(session.inputNames).toEqual(config.useGender ? ['audio', 'gender'] : ['audio']);
    const audio = new ort.Tensor('float32', x, [n, 1, L]);
    const run = async (feeds: Record<string, ort.Tensor>) => {
      const r = await session.run(feeds);
      return { emotion: r.emotion_logits.data as Float32Array, gender: r.gender_logits.data as Float32Array };
    };
    const errors: Record<string, number> = {};
    // Not given: one zero row for the whole batch.
    const theirsInferred = await run(config.useGender ? { audio, gender: new ort.Tensor('float32', new Float32Array(2), [1, 2]) } : { audio });
    errors['emotion, gender not given'] = relL2(inferred.emotion, theirsInferred.emotion);
    errors['gender head'] = relL2(inferred.gender, theirsInferred.gender);
    if (config.useGender) {
      const theirsGiven = await run({ audio, gender: new ort.Tensor('float32', g, [n, 2]) });
      errors['emotion, gender given'] = relL2(given.emotion, theirsGiven.emotion);
      // Given for the first window only: the others follow the gender head, row by row.
      const mixed = g.slice();
      mixed.fill(0, 2);
      const theirsMixed = await run({ audio, gender: new ort.Tensor('float32', mixed, [n, 2]) });
      const oursMixed = Float32Array.from(theirsMixed.emotion, (_, i) => (i < config.classes.length ? given.emotion[i] : inferred.emotion[i]));
      errors['emotion, gender given for one row'] = relL2(oursMixed, theirsMixed.emotion);
    }
    console.log(`onnx opset ${ONNX_OPSET}, ${preset}/${design} ${JSON.stringify(changes)}: ${JSON.stringify(errors)}`);
    for (const [k, e] of Object.entries(errors)) expect(e, k).toBeLessThan(1e-4);
    await session.release();
  });
});

describe('export to ONNX: an ensemble', () => {
  it('gives the engine\'s outputs, the log of the members\' mean probabilities, within 1e-4', async (ctx) => {
    if (noCorpus) {
      console.warn(`skipped: ${noCorpus}`);
      ctx.skip(noCorpus);
    }
    await init({ backend: 'cpu' });
    const config = MODEL_PRESETS.compact(EMODB_CLASSES);
    const L = config.windowSamples;
    const w = await emodbWindows(2, L);
    const genders = w.genders.map(genderOneHot);
    const n = w.windows.length;
    const ensemble = new SerEnsemble([new SerModel(config, 3), new SerModel(config, 4)]);
    await adaptNormalization(ensemble, { windows: w.windows, genders });
    ensemble.eval();
    const x = new Float32Array(n * L);
    w.windows.forEach((v, i) => x.set(v, i * L));
    const g = new Float32Array(n * 2);
    genders.forEach((v, i) => g.set(v, i * 2));
    const ours = async (given: boolean) => {
      const out = noGrad(() => ensemble.forward(tensor(x, [n, 1, L]), given ? tensor(g, [n, 2]) : undefined));
      return { emotion: await out.emotion.toArray(), gender: await out.gender.toArray() };
    };
    const [given, inferred] = [await ours(true), await ours(false)];
    const session = await ort.InferenceSession.create(exportOnnx(await encodeModel(ensemble), 'test ensemble'));
    ensemble.dispose();
    const run = async (gender: Float32Array, rows: number) => {
      const r = await session.run({ audio: new ort.Tensor('float32', x, [n, 1, L]), gender: new ort.Tensor('float32', gender, [rows, 2]) });
      return { emotion: r.emotion_logits.data as Float32Array, gender: r.gender_logits.data as Float32Array };
    };
    const [theirsGiven, theirsInferred] = [await run(g, n), await run(new Float32Array(2), 1)];
    expect(relL2(given.emotion, theirsGiven.emotion)).toBeLessThan(1e-4);
    expect(relL2(inferred.emotion, theirsInferred.emotion)).toBeLessThan(1e-4);
    expect(relL2(inferred.gender, theirsInferred.gender)).toBeLessThan(1e-4);
    await session.release();
  });
});
