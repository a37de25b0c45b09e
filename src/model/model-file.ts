// A trained model as safetensors bytes: the weights under their PyTorch-style state-dict names, and in the
// metadata the configuration (architecture, sample rate, window) and the label set, so that a checkpoint is
// self-describing. Browser-safe: bytes in, bytes out (file I/O lives in the CLI and src/train).

import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../train/checkpoint.js';
import type { ModelConfig } from './config.js';
import { SerModel } from './ser-model.js';

export const MODEL_FORMAT = 'ser-webgpu/model-1';

export async function encodeModel(model: SerModel, extra: Record<string, NamedTensor> = {}, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  const tensors: Record<string, NamedTensor> = { ...(await model.stateDict()), ...extra };
  return encodeSafetensors(tensors, { format: MODEL_FORMAT, config: JSON.stringify(model.config), classes: JSON.stringify(model.config.classes), ...metadata });
}

export interface DecodedModel {
  model: SerModel;
  /** Tensors stored beside the weights (optimiser state, best weights) and the metadata. */
  extra: Record<string, NamedTensor>;
  metadata: Record<string, string>;
}

export function decodeModel(bytes: Uint8Array, source = 'model'): DecodedModel {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  if (metadata.format !== MODEL_FORMAT || !metadata.config) {
    throw new Error(`${source}: not a ser-webgpu model checkpoint (metadata.format is ${JSON.stringify(metadata.format)})`);
  }
  const config = JSON.parse(metadata.config) as ModelConfig;
  const model = new SerModel(config);
  const names = new Set([...model.namedParameters(), ...model.namedBuffers()].map(([n]) => n));
  const weights: Record<string, NamedTensor> = {};
  const extra: Record<string, NamedTensor> = {};
  for (const [name, t] of Object.entries(tensors)) (names.has(name) ? weights : extra)[name] = t;
  try {
    model.loadStateDict(weights);
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  model.eval();
  return { model, extra, metadata };
}
