// A trained model as safetensors bytes: the weights under their PyTorch-style state-dict names, and in the
// metadata the configuration (architecture, sample rate, window) and the label set, so that a checkpoint is
// self-describing. Browser-safe: bytes in, bytes out (file I/O lives in the CLI and src/train).
//
// Loading trusts nothing in the file: the configuration is validated against bounds (validate-config.ts) and
// checked against the number of values the file holds before the model is built, and every stored value must
// be finite (NaN or infinite weights are a diverged run or a damaged file). Every error names the source.
//
// An ensemble (`ser ensemble`) is one file too: its members' weights under member<i>.<name>, one configuration,
// and metadata.members their count. A version without ensembles refuses such a file (its weights are missing).

import { decodeSafetensors, encodeSafetensors, excerpt, type NamedTensor } from '../io/safetensors.js';
import { MAX_MEMBERS, SerEnsemble, type Network } from './ensemble.js';
import { SerModel } from './ser-model.js';
import type { ModelConfig } from './config.js';
import { modelParameterCount, validateModelConfig } from './validate-config.js';

export const MODEL_FORMAT = 'ser-webgpu/model-1';

/** The first non-finite value among named tensors (NaN, ±Infinity), if any. */
export function firstNonFinite(tensors: Record<string, { data: Float32Array }>): { name: string; index: number; value: number } | undefined {
  for (const [name, t] of Object.entries(tensors)) {
    const data = t.data;
    for (let i = 0; i < data.length; i++) {
      // v − v is 0 for finite values and NaN for NaN and ±Infinity: one comparison per value.
      if (data[i] - data[i] !== 0) return { name, index: i, value: data[i] };
    }
  }
  return undefined;
}

export async function encodeModel(model: Network, extra: Record<string, NamedTensor> = {}, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  const tensors: Record<string, NamedTensor> = { ...(await model.stateDict()), ...extra };
  const bad = firstNonFinite(tensors);
  if (bad) throw new Error(`refusing to save a model whose tensor "${bad.name}" holds ${bad.value} at index ${bad.index} (weights must be finite: the training diverged)`);
  // The member count is the model's, whatever metadata a caller passes on (another file's, say).
  const { members: _, ...rest } = metadata;
  const members: Record<string, string> = model instanceof SerEnsemble ? { members: String(model.members.length) } : {};
  return encodeSafetensors(tensors, { format: MODEL_FORMAT, config: JSON.stringify(model.config), classes: JSON.stringify(model.config.classes), ...rest, ...members });
}

export interface DecodedModel {
  /** One network, or an ensemble where the file holds several (metadata.members). */
  model: Network;
  /** Tensors stored beside the weights (optimiser state, best weights) and the metadata. */
  extra: Record<string, NamedTensor>;
  metadata: Record<string, string>;
}

export function decodeModel(bytes: Uint8Array, source = 'model'): DecodedModel {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  if (metadata.format !== MODEL_FORMAT || !metadata.config) {
    throw new Error(`${source}: not a ser-webgpu model checkpoint (metadata.format is ${excerpt(metadata.format)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(metadata.config);
  } catch (e) {
    throw new Error(`${source}: metadata.config is not valid JSON (${(e as Error).message})`);
  }
  const config = validateModelConfig(parsed, source);
  // The label set is written twice: in config, which this model reads, and as metadata.classes, which PyTorch
  // users and train_ddp.py read. A file where they differ would name the outputs one way here and another there.
  if (metadata.classes !== undefined) {
    let classes: unknown;
    try {
      classes = JSON.parse(metadata.classes);
    } catch (e) {
      throw new Error(`${source}: metadata.classes is not valid JSON (${(e as Error).message})`);
    }
    // Compared and shown without JSON.stringify of `classes`, which overflowed the stack on a deeply nested value.
    const same = Array.isArray(classes) && classes.length === config.classes.length && classes.every((name, i) => name === config.classes[i]);
    if (!same) {
      throw new Error(`${source}: metadata.classes ${excerpt(classes, 200)} differ from config.classes ${JSON.stringify(config.classes)} (the labels would be misread)`);
    }
  }
  // The file must hold the weights the configuration describes: a configuration that asks for more than the
  // file has is refused before the model allocates them.
  const members = memberCount(metadata.members, source);
  const stored = Object.values(tensors).reduce((s, t) => s + t.data.length, 0);
  const needed = modelParameterCount(config) * (members ?? 1);
  if (needed > stored) throw new Error(`${source}: config describes ${needed} weights but the file holds only ${stored} values`);
  const bad = firstNonFinite(tensors);
  if (bad) throw new Error(`${source}: tensor ${excerpt(bad.name)} holds ${bad.value} at index ${bad.index}: weights must be finite (a diverged training run or a damaged file)`);
  for (const [name, t] of Object.entries(tensors)) {
    if (name.endsWith('running_var') && t.data.some((v) => v < 0)) throw new Error(`${source}: tensor ${excerpt(name)} holds a negative variance`);
  }
  let model: Network;
  try {
    model = members === undefined ? new SerModel(config) : ensembleOf(config, members);
  } catch (e) {
    // A configuration within CONFIG_LIMITS whose weights this device cannot hold (on WebGPU, one past the adapter's
    // maxStorageBufferBindingSize): the file's error, not a RangeError from the buffer pool.
    throw new Error(`${source}: ${(e as Error).message}`, { cause: e });
  }
  const names = new Set([...model.namedParameters(), ...model.namedBuffers()].map(([n]) => n));
  const weights: Record<string, NamedTensor> = {};
  const extra: Record<string, NamedTensor> = {};
  for (const [name, t] of Object.entries(tensors)) (names.has(name) ? weights : extra)[name] = t;
  try {
    model.loadStateDict(weights);
  } catch (e) {
    model.dispose();
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  model.eval();
  return { model, extra, metadata };
}

/** metadata.members: undefined for one network, else a count from 2 to MAX_MEMBERS. */
function memberCount(value: string | undefined, source: string): number | undefined {
  if (value === undefined) return undefined;
  const n = /^[0-9]{1,3}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 2 && n <= MAX_MEMBERS)) throw new Error(`${source}: metadata.members must be a count of networks from 2 to ${MAX_MEMBERS}, got ${excerpt(value)}`);
  return n;
}

/** n networks of one configuration, freed again if one of them cannot be built. */
function ensembleOf(config: ModelConfig, n: number): SerEnsemble {
  const members: SerModel[] = [];
  try {
    for (let i = 0; i < n; i++) members.push(new SerModel(config));
    return new SerEnsemble(members);
  } catch (e) {
    for (const m of members) m.dispose();
    throw e;
  }
}

/** The one network a file holds; `use` (what needs one, as "PyTorch export") refuses an ensemble, naming the file. */
export function singleNetwork(model: Network, source: string, use: string): SerModel {
  if (model instanceof SerEnsemble) {
    const n = model.members.length;
    model.dispose();
    throw new Error(`${source}: an ensemble of ${n} networks (ser ensemble), but ${use} takes one network: give it one of the files the ensemble was made from`);
  }
  return model;
}
