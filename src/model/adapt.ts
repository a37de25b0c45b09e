// Adapting batch norm to one speaker (AdaBN, Li et al. 2016): the running statistics of every batch-norm layer
// are re-estimated from that speaker's own unlabelled windows, so the network normalises each speaker's
// features by that speaker's statistics, as it did in training where every batch held one speaker.

import { BatchNorm1d } from '../engine/nn.js';
import { tensor } from '../engine/ops.js';
import { noGrad, tidy } from '../engine/tensor.js';
import type { ArrayTensor } from '../engine/module.js';
import { GENDERS, type SerModel } from './ser-model.js';

/** Windows [n × windowSamples] and optionally their gender one-hots [n × 2] (FiLM models read them). */
export interface SpeakerAudio {
  windows: Float32Array[];
  genders?: Float32Array[];
}

/** Replaces every batch norm's running statistics by the average of the batch statistics over the speaker's
 * windows (batches of up to batchSize, each weighted equally). Returns the statistics it replaced. */
export async function adaptNormalization(model: SerModel, audio: SpeakerAudio, batchSize = 32): Promise<Record<string, ArrayTensor>> {
  const saved = await normalizationState(model);
  const layers = modulesOf(model);
  const L = model.config.windowSamples;
  const wasTraining = model.training;
  model.train();
  const momenta = layers.map((l) => l.momentum);
  const { windows, genders } = audio;
  // Batch norm needs two values per channel: a speaker with one window gets it twice.
  const items = windows.length === 1 ? [0, 0] : windows.map((_, i) => i);
  for (let start = 0, k = 1; start < items.length; start += batchSize, k++) {
    const chunk = items.slice(start, start + batchSize);
    if (chunk.length < 2) break;
    // Cumulative average: the k-th batch enters with weight 1/k.
    layers.forEach((l) => (l.momentum = 1 / k));
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

/** The running statistics of every batch norm, by state-dict name. */
export async function normalizationState(model: SerModel): Promise<Record<string, ArrayTensor>> {
  const out: Record<string, ArrayTensor> = {};
  for (const [name, t] of model.namedBuffers()) out[name] = { shape: [...t.shape], data: await t.toArray() };
  return out;
}

export function restoreNormalization(model: SerModel, state: Record<string, ArrayTensor>): void {
  for (const [name, t] of model.namedBuffers()) if (state[name]) t.backend.write(t.storage, state[name].data);
}

function modulesOf(model: SerModel): BatchNorm1d[] {
  return [...model.modules()].filter((m): m is BatchNorm1d => m instanceof BatchNorm1d);
}
