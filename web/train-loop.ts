// In-page training for the "train here" panel: a small synthetic corpus generated in the page, and a light
// step loop on the engine (the trainer's loss: emotion cross-entropy plus the weighted gender-head loss, with
// Adam). Unlike fit(), it reads the loss after every step, which costs a read-back per step but gives a live
// curve; it yields to the page between steps so the UI keeps responding.

import { Adam } from '../src/engine/adam.js';
import { seededRandom } from '../src/engine/random.js';
import { tensor } from '../src/engine/ops.js';
import { tidy } from '../src/engine/tensor.js';
import { MODEL_PRESETS, type ModelPreset } from '../src/model/config.js';
import { SerModel, serLoss } from '../src/model/ser-model.js';
import { allWindows, makeBatch, shuffled, toExamples, type WindowRef } from '../src/train/dataset.js';
import { generateSyntheticCorpus } from '../src/train/synthetic.js';
import { DEFAULT_TRAIN_OPTIONS } from '../src/train/trainer.js';

/** tiny: 8 utterances of one window each, a single batch (quick to show the loss falling); small: 48. */
export type CorpusSize = 'tiny' | 'small';

export interface TrainRun {
  preset: ModelPreset;
  corpus: CorpusSize;
  steps: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  onStep(step: number, loss: number): void;
  /** Checked between steps. */
  shouldStop(): boolean;
}

export interface TrainedModel {
  model: SerModel;
  losses: number[];
  seconds: number;
  windows: number;
}

/** A corpus small enough to synthesise in the page in about a second. */
function corpusFor(preset: ModelPreset, size: CorpusSize, seed: number) {
  const window = MODEL_PRESETS[preset]([]).windowSamples / 16000;
  if (size === 'tiny') return generateSyntheticCorpus({ speakers: 2, utterancesPerEmotion: 1, seconds: window, seed });
  return generateSyntheticCorpus({ speakers: 4, utterancesPerEmotion: 3, seconds: window * 1.5, seed });
}

export async function trainInPage(run: TrainRun): Promise<TrainedModel> {
  const seed = run.seed ?? 1;
  const batchSize = run.batchSize ?? 8;
  const corpus = corpusFor(run.preset, run.corpus, seed);
  const config = MODEL_PRESETS[run.preset](corpus.classes);
  const refs = allWindows(toExamples(corpus.utterances, corpus.classes, config.windowSamples));
  const model = new SerModel(config, seed);
  const adam = new Adam(model.parameters(), { lr: run.lr ?? DEFAULT_TRAIN_OPTIONS.lr, weightDecay: DEFAULT_TRAIN_OPTIONS.weightDecay });
  const random = seededRandom(seed);
  const losses: number[] = [];
  const started = performance.now();
  let order: WindowRef[] = [];
  model.train();
  try {
    for (let step = 0; step < run.steps && !run.shouldStop(); step++) {
      if (order.length < batchSize) order = shuffled(refs, random);
      const batch = makeBatch(order.splice(0, batchSize), config.windowSamples);
      model.dropoutSeed = step;
      const loss = tidy(() => {
        const x = tensor(batch.samples, [batch.size, 1, config.windowSamples]);
        const out = model.forward(x, config.useGender ? tensor(batch.genders, [batch.size, 2]) : undefined);
        return serLoss(out, batch, { genderWeight: DEFAULT_TRAIN_OPTIONS.genderLossWeight });
      });
      let value: number;
      try {
        await loss.backward();
        adam.step();
        adam.zeroGrad();
        value = (await loss.toArray())[0];
      } finally {
        loss.dispose();
      }
      losses.push(value);
      run.onStep(step + 1, value);
      // Let input events and paints in between steps.
      await new Promise((ok) => setTimeout(ok, 0));
    }
  } catch (e) {
    // The caller never receives the model of a failed run: released here, or its buffers stayed on the device.
    model.dispose();
    throw e;
  } finally {
    adam.dispose();
  }
  model.eval();
  return { model, losses, seconds: (performance.now() - started) / 1000, windows: refs.length };
}
