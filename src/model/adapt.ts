// Adapting batch norm to one speaker (AdaBN, Li et al. 2016): the running statistics of every batch-norm layer
// are re-estimated from that speaker's own unlabelled windows, so the network normalises each speaker's
// features by that speaker's statistics, as it did in training where every batch held one speaker.

import { BatchNorm1d } from '../engine/nn.js';
import { tensor } from '../engine/ops.js';
import { noGrad, tidy } from '../engine/tensor.js';
import type { ArrayTensor } from '../engine/module.js';
import type { Network } from './ensemble.js';
import { GENDERS } from './ser-model.js';

/** Windows [n × windowSamples] and optionally their gender one-hots [n × 2] (FiLM models read them). */
export interface SpeakerAudio {
  windows: Float32Array[];
  genders?: Float32Array[];
}

/** Replaces every batch norm's running statistics by the average of the batch statistics over the speaker's
 * windows (batchSize or a few fewer per batch: see adaptationBatches), each batch weighted by its windows.
 * Returns the statistics it replaced. */
export async function adaptNormalization(model: Network, audio: SpeakerAudio, batchSize = 32): Promise<Record<string, ArrayTensor>> {
  const saved = await normalizationState(model);
  const layers = modulesOf(model);
  const L = model.config.windowSamples;
  const wasTraining = model.training;
  model.train();
  const momenta = layers.map((l) => l.momentum);
  const { windows, genders } = audio;
  let seen = 0;
  for (const chunk of adaptationBatches(windows.length, batchSize)) {
    // A running average weighted by windows: this batch's share of all the windows seen so far.
    seen += chunk.length;
    layers.forEach((l) => (l.momentum = chunk.length / seen));
    tidy(() =>
      noGrad(() => {
        const x = new Float32Array(chunk.length * L);
        chunk.forEach((w, i) => x.set(windows[w], i * L));
        let g;
        if (genders) {
          const onehot = new Float32Array(chunk.length * GENDERS.length);
          chunk.forEach((w, i) => onehot.set(genders[w], i * GENDERS.length));
          g = tensor(onehot, [chunk.length, GENDERS.length]);
        }
        model.forward(tensor(x, [chunk.length, 1, L]), g);
      }),
    );
  }
  layers.forEach((l, i) => (l.momentum = momenta[i]));
  model.train(wasTraining);
  return saved;
}

/**
 * The window indices of each adaptation batch: as few batches as batchSize allows, of sizes that differ by at
 * most one, each taking every k-th window (so that each batch samples the whole recording, not a stretch of it),
 * and at least two windows each, as batch norm needs two values per channel (a speaker with one window gets it
 * twice). Equal sizes matter: a last batch of a few windows would estimate its statistics from a few utterances.
 */
export function adaptationBatches(windows: number, batchSize: number): number[][] {
  if (!(Number.isInteger(batchSize) && batchSize >= 2)) throw new RangeError(`adaptNormalization: batchSize must be an integer of at least 2, got ${batchSize}`);
  if (windows === 0) return [];
  if (windows === 1) return [[0, 0]];
  const count = Math.min(Math.ceil(windows / batchSize), Math.floor(windows / 2));
  return Array.from({ length: count }, (_, b) => Array.from({ length: Math.ceil((windows - b) / count) }, (_, j) => b + j * count));
}

/** The running statistics of every batch norm, by state-dict name. */
export async function normalizationState(model: Network): Promise<Record<string, ArrayTensor>> {
  const out: Record<string, ArrayTensor> = {};
  for (const [name, t] of model.namedBuffers()) out[name] = { shape: [...t.shape], data: await t.toArray() };
  return out;
}

export function restoreNormalization(model: Network, state: Record<string, ArrayTensor>): void {
  for (const [name, t] of model.namedBuffers()) if (state[name]) t.backend.write(t.storage, state[name].data);
}

function modulesOf(model: Network): BatchNorm1d[] {
  return [...model.modules()].filter((m): m is BatchNorm1d => m instanceof BatchNorm1d);
}
