// Checks a model configuration read from outside (a checkpoint's metadata, a page's `?model=`) before anything
// is allocated for it: every field of ModelConfig with its type and bounds, that the window gives the network at
// least one frame at every layer, and that the weights and each window's activations stay within bounds. A
// crafted or damaged configuration is then an Error naming the source and the field, never a 4-GB allocation or
// a TypeError from inside the model. Browser-safe (no I/O).
//
// When ModelConfig gains a field, add it here (and to modelParameterCount when it adds weights): an unknown
// field is refused, since this version could not run the model it describes.

import { MAX_SAMPLE_RATE, MIN_SAMPLE_RATE } from '../audio/wav.js';
import { firstFew } from '../io/listing.js';
import { excerpt } from '../io/safetensors.js';
import { pooledWidth, POOLINGS, type ModelConfig } from './config.js';
import { MIN_TAPS } from './filterbank.js';

/** The bounds a configuration must keep to. */
export const CONFIG_LIMITS = {
  /** Longest window, in seconds at the model's sample rate. */
  maxWindowSeconds: 600,
  /** Channels of a block, filters of the front end, hidden units. */
  maxChannels: 4096,
  /** Taps of a convolution or of the filter bank; also the largest stride, hop and pooling factor. */
  maxKernel: 4096,
  maxBlocks: 64,
  minClasses: 2,
  maxClasses: 64,
  maxClassNameLength: 100,
  /** Parameters and batch-norm statistics together. */
  maxParameters: 100_000_000,
  /** Values of the largest intermediate tensor per window (a batch of 16 windows is 16 times as many). */
  maxActivationsPerWindow: 2 ** 24,
} as const;

const TOP_FIELDS = ['sampleRate', 'windowSamples', 'frontEnd', 'blocks', 'pooling', 'hidden', 'dropout', 'useGender', 'speakerNormalization', 'fusion', 'classes'];
const FRONT_END_FIELDS = ['filters', 'kernel', 'hop', 'minHz', 'maxHz'];
const BLOCK_FIELDS = ['channels', 'kernel', 'stride', 'pool'];

type Fail = (message: string) => never;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function integer(v: unknown, min: number, max: number, name: string, fail: Fail): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(`${name} must be an integer from ${min} to ${max}, got ${excerpt(v)}`);
  return v as number;
}

function number(v: unknown, min: number, max: number, name: string, fail: Fail): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) fail(`${name} must be a number from ${min} to ${max}, got ${excerpt(v)}`);
  return v as number;
}

function onlyFields(o: Record<string, unknown>, known: string[], name: string, fail: Fail): void {
  const unknown = Object.keys(o).filter((k) => !known.includes(k));
  // The first few, each cut short: a crafted configuration may have a million fields or a name of megabytes.
  if (unknown.length) fail(`${name} has unknown field(s) ${firstFew(unknown, 5, (k) => excerpt(k))} (known: ${known.join(', ')}): not a configuration this version can run`);
}

/**
 * Returns `config` as a ModelConfig when it is one this version can build within CONFIG_LIMITS; otherwise throws
 * an Error `${source}: config.<field> ...`.
 */
export function validateModelConfig(config: unknown, source = 'model'): ModelConfig {
  const fail: Fail = (message) => {
    throw new Error(`${source}: ${message}`);
  };
  if (!isObject(config)) fail(`config must be a JSON object, got ${excerpt(config)}`);
  const c = config as Record<string, unknown>;
  onlyFields(c, TOP_FIELDS, 'config', fail);
  const L = CONFIG_LIMITS;
  const sampleRate = integer(c.sampleRate, MIN_SAMPLE_RATE, MAX_SAMPLE_RATE, 'config.sampleRate', fail);
  const windowSamples = integer(c.windowSamples, 1, L.maxWindowSeconds * sampleRate, 'config.windowSamples', fail);
  if (c.frontEnd !== undefined) {
    if (!isObject(c.frontEnd)) fail(`config.frontEnd must be an object, got ${excerpt(c.frontEnd)}`);
    const f = c.frontEnd as Record<string, unknown>;
    onlyFields(f, FRONT_END_FIELDS, 'config.frontEnd', fail);
    integer(f.filters, 1, L.maxChannels, 'config.frontEnd.filters', fail);
    // Three taps at least (the filter bank's MIN_TAPS, which says why).
    integer(f.kernel, MIN_TAPS, L.maxKernel, 'config.frontEnd.kernel', fail);
    integer(f.hop, 1, L.maxKernel, 'config.frontEnd.hop', fail);
    const minHz = number(f.minHz, 0, sampleRate / 2, 'config.frontEnd.minHz', fail);
    number(f.maxHz, 0, sampleRate / 2, 'config.frontEnd.maxHz', fail);
    if (!((f.maxHz as number) > minHz)) fail(`config.frontEnd.maxHz (${excerpt(f.maxHz)}) must be above minHz (${minHz})`);
  }
  if (!Array.isArray(c.blocks)) fail(`config.blocks must be an array of blocks, got ${excerpt(c.blocks)}`);
  const blocks = c.blocks as unknown[];
  if (blocks.length < 1 || blocks.length > L.maxBlocks) fail(`config.blocks must hold 1 to ${L.maxBlocks} blocks, got ${blocks.length}`);
  blocks.forEach((b, i) => {
    const name = `config.blocks[${i}]`;
    if (!isObject(b)) fail(`${name} must be an object, got ${excerpt(b)}`);
    const block = b as Record<string, unknown>;
    onlyFields(block, BLOCK_FIELDS, name, fail);
    integer(block.channels, 1, L.maxChannels, `${name}.channels`, fail);
    integer(block.kernel, 1, L.maxKernel, `${name}.kernel`, fail);
    integer(block.stride, 1, L.maxKernel, `${name}.stride`, fail);
    integer(block.pool, 1, L.maxKernel, `${name}.pool`, fail);
  });
  if (c.pooling !== undefined && !(POOLINGS as readonly unknown[]).includes(c.pooling)) fail(`config.pooling must be "mean", "stats" or "attentive", got ${excerpt(c.pooling)}`);
  integer(c.hidden, 0, L.maxChannels, 'config.hidden', fail);
  number(c.dropout, 0, 1, 'config.dropout', fail);
  if (c.dropout === 1) fail('config.dropout must be below 1, got 1');
  if (typeof c.useGender !== 'boolean') fail(`config.useGender must be true or false, got ${excerpt(c.useGender)}`);
  if (c.speakerNormalization !== undefined && typeof c.speakerNormalization !== 'boolean') {
    fail(`config.speakerNormalization must be true or false, got ${excerpt(c.speakerNormalization)}`);
  }
  if (c.fusion !== undefined && c.fusion !== 'concat' && c.fusion !== 'film') fail(`config.fusion must be "concat" or "film", got ${excerpt(c.fusion)}`);
  if (c.useGender && c.fusion === 'film' && c.frontEnd === undefined) fail('config.fusion "film" needs a frontEnd (its gender head reads the filter bank)');
  if (!Array.isArray(c.classes)) fail(`config.classes must be an array of class names, got ${excerpt(c.classes)}`);
  const classes = c.classes as unknown[];
  if (classes.length < L.minClasses || classes.length > L.maxClasses) fail(`config.classes must hold ${L.minClasses} to ${L.maxClasses} names, got ${classes.length}`);
  classes.forEach((name, i) => {
    // No control characters: `ser predict` and `ser eval` print the names, and an escape sequence in a downloaded
    // checkpoint would drive the user's terminal (a newline would forge output lines). No spaces around a name:
    // 'angry' and 'angry ' print alike but would be two classes (the corpus readers trim their labels).
    if (typeof name !== 'string' || name.trim() !== name || name === '' || name.length > L.maxClassNameLength || /[\0-\x1f\x7f-\x9f]/.test(name)) {
      fail(`config.classes[${i}] must be a non-empty name of at most ${L.maxClassNameLength} characters without control characters or spaces around it, got ${excerpt(name)}`);
    }
  });
  const duplicate = classes.find((name, i) => classes.indexOf(name) !== i);
  if (duplicate !== undefined) fail(`config.classes lists ${excerpt(duplicate)} twice`);

  const valid = config as unknown as ModelConfig;
  const lengths = layerLengths(valid);
  const short = lengths.find((l) => l.frames < 1);
  if (short) fail(`config.windowSamples ${windowSamples} is too short for the network: ${short.layer} gets no frame`);
  const largest = lengths.reduce((a, b) => (b.values > a.values ? b : a));
  if (largest.values > L.maxActivationsPerWindow) {
    fail(`${largest.layer} would hold ${largest.values} values per window, more than the limit of ${L.maxActivationsPerWindow} (config.windowSamples ${windowSamples})`);
  }
  const parameters = modelParameterCount(valid);
  if (parameters > L.maxParameters) fail(`config describes ${parameters} parameters, more than the limit of ${L.maxParameters}`);
  return valid;
}

/** Frames and values per window of the input and after each layer of SerModel (as ser-model.ts and filterbank.ts
 * compute them). */
export function layerLengths(config: ModelConfig): { layer: string; frames: number; values: number }[] {
  // The input is a layer too: a long window at a high rate through a wide hop leaves every later layer small,
  // yet a batch of its windows would pass MAX_TENSOR_ELEMENTS (classify() reads 16 windows at a time).
  const out: { layer: string; frames: number; values: number }[] = [{ layer: 'the input window', frames: config.windowSamples, values: config.windowSamples }];
  let length = config.windowSamples;
  if (config.frontEnd) {
    const { kernel, hop, filters } = config.frontEnd;
    const padding = Math.floor(kernel / 2) - 1;
    length = Math.floor((length + 2 * padding - kernel) / hop) + 1;
    out.push({ layer: 'the filter bank', frames: length, values: 2 * filters * Math.max(length, 0) });
  }
  config.blocks.forEach((b, i) => {
    if (length < 1) return;
    const padding = Math.floor(b.kernel / 2) - (b.kernel % 2 === 0 ? 1 : 0);
    length = Math.floor((length + 2 * padding - b.kernel) / b.stride) + 1;
    out.push({ layer: `block ${i}'s convolution`, frames: length, values: b.channels * Math.max(length, 0) });
    if (b.pool > 1 && length >= b.pool) length = Math.floor(length / b.pool);
  });
  return out;
}

/** Parameters and batch-norm statistics of the SerModel a configuration builds, without building it. */
export function modelParameterCount(config: ModelConfig): number {
  const batchNorm = (channels: number) => 4 * channels; // weight, bias, running mean and variance
  const linear = (inputs: number, outputs: number) => inputs * outputs + outputs;
  const front = config.frontEnd;
  const film = config.useGender && (config.fusion ?? 'concat') === 'film';
  let count = 0;
  let channels = 1;
  if (front) {
    count += 2 * front.filters * front.kernel + batchNorm(front.filters);
    channels = front.filters;
  }
  for (const b of config.blocks) {
    count += b.channels * channels * b.kernel + batchNorm(b.channels);
    if (film) count += 2 * linear(2, b.channels);
    channels = b.channels;
  }
  const pooled = pooledWidth(config, channels);
  // Attentive pooling's scoring layers: a k=1 convolution with bias (a linear layer per frame), then a score
  // per frame without one.
  if (config.pooling === 'attentive') count += linear(channels, channels) + channels;
  const joined = pooled + (config.useGender && !film ? 2 : 0);
  if (config.hidden > 0) count += linear(joined, config.hidden);
  count += linear(config.hidden > 0 ? config.hidden : joined, config.classes.length);
  count += linear(film ? 2 * front!.filters : pooled, 2);
  return count;
}
