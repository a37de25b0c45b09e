// A captured training step (src/engine/captured-step.ts, src/gpu/step-recording.ts): training that replays its
// recorded step equals training that runs every step, bit for bit (dropout's masks, Adam's counts and schedule,
// batch norm's statistics, a shorter last batch); what a replay could not repeat is refused while recording,
// naming it; a replay after a tensor it binds was freed throws rather than write into another tensor's memory;
// and what a recording keeps goes back to the pool with it. On lavapipe (the WebGPU backend): the CPU backend
// records nothing.

import { beforeAll, describe, expect, it } from 'vitest';
import { Adam, CapturedStep, init, seededRandom, setStepCapture, tensor, tidy, type Engine } from '../src/index.js';
import { Linear } from '../src/engine/nn.js';
import { affine, mean, mul } from '../src/engine/ops.js';
import type { ModelConfig } from '../src/model/config.js';
import { SerModel } from '../src/model/ser-model.js';
import { toExamples } from '../src/train/dataset.js';
import { generateSyntheticCorpus } from '../src/train/synthetic.js';
import { DEFAULT_TRAIN_OPTIONS, fit, type TrainOptions } from '../src/train/trainer.js';
import { tinyModel } from './tiny-experiment.js';

let engine: Engine;
beforeAll(async () => {
  engine = await init();
});

describe('a captured training step', () => {
  // The raw-waveform blocks, batches of the whole corpus (each epoch ends with a shorter one) and the gender
  // concatenated; and the default model's design: the learned filter bank, statistics pooling, the gender through
  // FiLM and batches by speaker (each speaker's last is shorter, and any may come first), with SpecAugment's masks
  // and additive noise; and attentive statistics pooling (its softmax over time, scoring convolutions and weighted moments).
  const designs: [string, Partial<ModelConfig>, Partial<TrainOptions>][] = [
    ['raw waveform, concat', {}, {}],
    ['raw waveform, attentive pooling, concat', { pooling: 'attentive' }, {}],
    [
      'filter bank, statistics pooling, FiLM, by speaker, SpecAugment, noise',
      { frontEnd: { filters: 8, kernel: 64, hop: 32, minHz: 60, maxHz: 7600 }, blocks: [{ channels: 8, kernel: 3, stride: 1, pool: 2 }], pooling: 'stats', fusion: 'film', speakerNormalization: true },
      { specAugment: { masks: 2, maxBands: 3, maxFrames: 40 }, noiseSnrDb: [10, 30] },
    ],
  ];
  for (const [name, design, training] of designs) {
    it(`trains as running every step does, bit for bit: two epochs with dropout, batch norm and shorter batches; ${name}`, async () => {
      const corpus = generateSyntheticCorpus({ speakers: 3, utterancesPerEmotion: 1, seconds: 0.5, seed: 3 });
      const examples = toExamples(corpus.utterances, corpus.classes, 4000);
      const options = { ...DEFAULT_TRAIN_OPTIONS, epochs: 2, batchSize: 5, ...training };
      const config = tinyModel(corpus.classes, { hidden: 8, dropout: 0.3, ...design });
      const forward = SerModel.prototype.forward;
      const train = async (capture: boolean) => {
        let forwards = 0;
        const sizes: number[] = [];
        const doneBy = new Map<number, number>();
        SerModel.prototype.forward = function (this: SerModel, ...args: Parameters<SerModel['forward']>) {
          if (this.training) forwards++;
          return forward.apply(this, args);
        };
        setStepCapture(capture);
        try {
          const { model, history } = await fit(config, examples, { examples: [] }, options, {
            onBatch: (epoch, done) => {
              sizes.push(done - (doneBy.get(epoch) ?? 0));
              doneBy.set(epoch, done);
            },
          });
          const weights = await model.stateDict();
          model.dispose();
          return { weights, losses: history.map((h) => h.trainLoss), forwards, sizes };
        } finally {
          SerModel.prototype.forward = forward;
          setStepCapture(true);
        }
      };
      const live = engine.runtime!.counters().liveBuffers;
      const every = await train(false);
      const replayed = await train(true);
      expect(every.forwards).toBe(every.sizes.length);
      const shorter = every.sizes.filter((n) => n !== options.batchSize).length;
      expect(shorter).toBeGreaterThanOrEqual(2);
      expect(every.sizes.length - shorter).toBeGreaterThan(4);
      // Per epoch the recorded step and each shorter batch run their JavaScript; the other full ones replay.
      expect(replayed.forwards).toBe(2 + shorter);
      expect(replayed.losses).toEqual(every.losses);
      expect(Object.keys(replayed.weights)).toEqual(Object.keys(every.weights));
      for (const name of Object.keys(every.weights)) expect(replayed.weights[name].data, name).toEqual(every.weights[name].data);
      // The recordings' buffers went back to the pool with them.
      expect(engine.runtime!.counters().liveBuffers).toBe(live);
    }, 120_000);
  }

  /** A linear layer trained on one input array, and its step. */
  function linearStep() {
    const layer = new Linear(6, 3, seededRandom(1));
    const adam = new Adam(layer.parameters(), { lr: 0.01 });
    const ran = { count: 0 };
    const step = new CapturedStep((x: Float32Array) => {
      ran.count++;
      const loss = tidy(() => mean(mul(layer.forward(tensor(x, [2, 6])), layer.forward(tensor(x, [2, 6])))));
      loss.backwardSync();
      adam.step();
      adam.zeroGrad();
      return loss;
    });
    const dispose = () => {
      step.dispose();
      adam.dispose();
      layer.dispose();
    };
    return { layer, adam, step, ran, dispose };
  }

  it('replays with new inputs: the losses are those of the inputs given', async () => {
    const input = (k: number) => Float32Array.from({ length: 12 }, (_, i) => Math.sin(i * k));
    const run = async (capture: boolean) => {
      setStepCapture(capture);
      const { step, dispose } = linearStep();
      try {
        const losses = [];
        for (let k = 1; k <= 4; k++) {
          const loss = step.run(input(k));
          losses.push((await loss.toArray())[0]);
          loss.dispose();
        }
        return losses;
      } finally {
        dispose();
        setStepCapture(true);
      }
    };
    const every = await run(false);
    expect(new Set(every).size).toBe(4);
    expect(await run(true)).toEqual(every);
  });

  it('replays in the same buffers: the pool creates none after the first replay', async () => {
    const rt = engine.runtime!;
    const { step, dispose } = linearStep();
    const counts: number[] = [];
    for (let k = 0; k < 20; k++) {
      step.run(Float32Array.from({ length: 12 }, (_, i) => i * k)).dispose();
      await rt.sync();
      counts.push(rt.counters().allocatedBuffers);
    }
    expect(new Set(counts.slice(1)).size).toBe(1);
    dispose();
  });

  it('runs inputs of other sizes than the recorded ones in full, and replays those of the recorded sizes', async () => {
    let ran = 0;
    const step = new CapturedStep((x: Float32Array) => {
      ran++;
      return tidy(() => mean(tensor(x, [x.length])));
    });
    const value = async (x: number[]) => {
      const t = step.run(Float32Array.from(x));
      const [v] = await t.toArray();
      t.dispose();
      return v;
    };
    expect(await value([1, 2, 3, 4])).toBe(2.5);
    expect(await value([1, 2, 3, 4, 5, 6])).toBe(3.5);
    expect(ran).toBe(2);
    expect(await value([5, 6, 7, 8])).toBe(6.5);
    expect(ran).toBe(2);
    step.dispose();
  });

  it('records again once the tuner has chosen other kernels, and after dispose', async () => {
    const { step, ran, dispose } = linearStep();
    const tuner = engine.runtime!.tuner;
    const run = () => step.run(new Float32Array(12)).dispose();
    run();
    run();
    expect(ran.count).toBe(1);
    tuner.load({});
    run();
    run();
    expect(ran.count).toBe(2);
    step.dispose();
    run();
    expect(ran.count).toBe(3);
    dispose();
  });

  it('keeps the uniforms it binds when the binding cache starts afresh meanwhile', async () => {
    const { step, dispose } = linearStep();
    const input = Float32Array.from({ length: 12 }, (_, i) => i / 12);
    const losses = [];
    for (let k = 0; k < 3; k++) {
      const loss = step.run(input);
      losses.push((await loss.toArray())[0]);
      loss.dispose();
      // More distinct uniform values than the cache holds (2048): it retires and destroys its uniforms.
      const x = tensor(new Float32Array(4), [4]).keep();
      for (let shift = 0; shift < 2100; shift++) affine(x, 1, shift).dispose();
      x.dispose();
      await engine.runtime!.sync();
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    dispose();
  });

  it('refuses, while recording, an upload that is none of its inputs, a read-back and a host write, and keeps nothing', async () => {
    const rt = engine.runtime!;
    const live = rt.counters().liveBuffers;
    const refused = (body: (x: Float32Array) => ReturnType<typeof tensor>) => () => new CapturedStep(body).run(new Float32Array(4));
    expect(refused(() => tensor(new Float32Array(4), [4]))).toThrow(/uploads "tensor" \(16 bytes\), which is none of its inputs/);
    const constant = tensor(new Float32Array(4), [4]).keep();
    expect(refused((x) => {
      constant.backend.write(constant.storage, x);
      return tensor(x, [4]);
    })).toThrow(/writes buffer .* from the host, which a replay would not repeat/);
    let read: Promise<unknown> | undefined;
    const reading = new CapturedStep((x: Float32Array) => {
      const t = tensor(x, [4]);
      read = t.toArray();
      return t;
    });
    // Refused where the read is, and by the run, whether or not the step awaits it.
    expect(() => reading.run(new Float32Array(4))).toThrow(/waits for the device \(a read or a sync\), which a replay would not/);
    await expect(read).rejects.toThrow(/waits for the device/);
    // An async step (await loss.backward()) would go on after its recording ended.
    const asynchronous = new CapturedStep((async (x: Float32Array) => tensor(x, [4])) as unknown as (x: Float32Array) => ReturnType<typeof tensor>);
    expect(() => asynchronous.run(new Float32Array(4))).toThrow(/returned a promise: a step runs synchronously \(loss.backwardSync\(\)/);
    constant.dispose();
    await rt.sync();
    expect(rt.counters().liveBuffers).toBe(live);
  });

  it('throws at a replay after a tensor the step binds was freed, naming its buffer, rather than write into its next owner', async () => {
    const { adam, step, dispose } = linearStep();
    step.run(new Float32Array(12)).dispose();
    const counted = adam.stepCount;
    // The optimiser's flat vectors (the parameters live in one) are freed.
    adam.dispose();
    expect(() => step.run(new Float32Array(12))).toThrow(/replay: buffer ".*", which the recorded step binds, was freed since it was recorded/);
    // Refused before anything ran: the optimiser did not count a step.
    expect(adam.stepCount).toBe(counted);
    dispose();
  });

  it('tells a buffer handed out again from the one it recorded: the acquisition, not only whether it is held', async () => {
    const rt = engine.runtime!;
    // A size of its own bucket, so that the pool hands the same buffer out again.
    const bytes = 3 * 2 ** 20 + 4;
    const external = rt.allocate(bytes, 'external');
    rt.beginRecording([]);
    rt.clear(external, bytes);
    const recording = rt.endRecording();
    rt.replay(recording, []);
    rt.release(external);
    rt.flush();
    const again = rt.allocate(bytes, 'again');
    expect(again).toBe(external);
    expect(() => rt.replay(recording, [])).toThrow(/buffer "external", which the recorded step binds, was freed since it was recorded/);
    rt.release(again);
    rt.disposeRecording(recording);
    await rt.sync();
  });

  it('runs the step every time on the CPU backend, which records nothing', async () => {
    await init({ backend: 'cpu' });
    try {
      const { step, ran, dispose } = linearStep();
      const losses = [];
      for (let k = 0; k < 3; k++) {
        const loss = step.run(Float32Array.from({ length: 12 }, (_, i) => i + k));
        losses.push((await loss.toArray())[0]);
        loss.dispose();
      }
      expect(ran.count).toBe(3);
      expect(new Set(losses).size).toBe(3);
      dispose();
    } finally {
      await init();
    }
  });

  it('refuses a step that frees a tensor made before it and reads it: a replay would read the recorded values', async () => {
    const before = tensor(Float32Array.from([1, 2, 3, 4]), [4]).keep();
    const step = new CapturedStep((x: Float32Array) => {
      const y = tidy(() => mul(tensor(x, [4]), before));
      before.dispose();
      return y;
    });
    expect(() => step.run(new Float32Array(4))).toThrow(/frees buffer .*, made before the step and read by it/);
  });
});
