// The SER model's configuration: layer sizes are data, so a checkpoint carries its own architecture.

import type { FilterBankConfig } from './filterbank.js';

export type { FilterBankConfig };

export const POOLINGS = ['mean', 'stats', 'attentive'] as const;
export type Pooling = (typeof POOLINGS)[number];

export interface ConvBlockConfig {
  channels: number;
  kernel: number;
  stride: number;
  /** Max-pooling factor after the block (1 = none). */
  pool: number;
}

export interface ModelConfig {
  sampleRate: number;
  /** Samples per window the network reads; an utterance's prediction averages its windows. */
  windowSamples: number;
  /** A learned log filter bank before the blocks; without it the first block is the filter bank (wide, strided). */
  frontEnd?: FilterBankConfig;
  blocks: ConvBlockConfig[];
  /** How the last block's output becomes one vector: its mean over time; its mean and standard deviation
   * (statistics pooling); or a mean and standard deviation weighted over time by a learned score (attentive
   * statistics pooling: the scoring layers' weights are the model's, `attention.*`). Absent: the mean. */
  pooling?: Pooling;
  /** Hidden units of the emotion classifier after the pooled features (+ gender one-hot); 0 = none. */
  hidden: number;
  dropout: number;
  /** Whether the network takes the speaker's gender as an input. */
  useGender: boolean;
  /** Per-speaker normalisation: training batches hold one speaker each, so batch norm normalises by one
   * speaker's statistics, and at evaluation it re-estimates them on each test speaker's own unlabelled audio
   * (model/adapt.ts). A single file with no other audio of its speaker uses the trained statistics. */
  speakerNormalization?: boolean;
  /** How the gender joins: concatenated to the pooled features (default), or FiLM in every block. */
  fusion?: 'concat' | 'film';
  classes: string[];
}

/** The default: a learned log filter bank (64 complex filters, 25 ms, 10-ms hop, initialised on the mel
 * scale), three convolution blocks over its frames, and statistics pooling, on 3-s windows. */
export function defaultModelConfig(classes: string[], useGender = true): ModelConfig {
  return {
    sampleRate: 16000,
    windowSamples: 48000,
    frontEnd: { filters: 64, kernel: 400, hop: 160, minHz: 60, maxHz: 7600 },
    blocks: [
      { channels: 64, kernel: 5, stride: 1, pool: 2 },
      { channels: 64, kernel: 5, stride: 1, pool: 2 },
      { channels: 64, kernel: 5, stride: 1, pool: 1 },
    ],
    pooling: 'stats',
    speakerNormalization: true,
    hidden: 64,
    dropout: 0.3,
    useGender,
    classes,
  };
}

/** The first design, kept for comparison and for the benchmarks (whose TensorFlow.js twin implements it): an
 * M5-style raw-waveform CNN on 3-s windows at 16 kHz, the first convolution its filter bank. */
export function m5ModelConfig(classes: string[], useGender = true): ModelConfig {
  return { sampleRate: 16000, windowSamples: 48000, blocks: m5Blocks(64), hidden: 64, dropout: 0.3, useGender, classes };
}

/** M5's blocks, `width` channels first: the filter-bank convolution (kernel 80, stride 4), then kernel-3
 * convolutions of twice and four times the width, max-pooling by 4 after every block but the last. */
function m5Blocks(width: number): ConvBlockConfig[] {
  return [
    { channels: width, kernel: 80, stride: 4, pool: 4 },
    { channels: 2 * width, kernel: 3, stride: 1, pool: 4 },
    { channels: 2 * width, kernel: 3, stride: 1, pool: 4 },
    { channels: 4 * width, kernel: 3, stride: 1, pool: 1 },
  ];
}

/** The default's design at a fraction of the cost, for the embedded synthetic demo and in-page training on a
 * CPU adapter: 1-s windows, 32 bands, narrow blocks. */
export function compactModelConfig(classes: string[], useGender = true): ModelConfig {
  return {
    ...defaultModelConfig(classes, useGender),
    windowSamples: 16000,
    frontEnd: { filters: 32, kernel: 400, hop: 160, minHz: 60, maxHz: 7600 },
    blocks: [
      { channels: 32, kernel: 5, stride: 1, pool: 2 },
      { channels: 32, kernel: 5, stride: 1, pool: 1 },
    ],
    hidden: 32,
    dropout: 0.2,
  };
}

/** The first design's small version: 1-s windows, a quarter of the width. */
export function m5CompactModelConfig(classes: string[], useGender = true): ModelConfig {
  return { ...m5ModelConfig(classes, useGender), windowSamples: 16000, blocks: m5Blocks(16), hidden: 32, dropout: 0.2 };
}

/** The width of the pooled vector from the last block's `channels`: a mean per channel, and its standard
 * deviation where the pooling keeps one. */
export function pooledWidth(config: Pick<ModelConfig, 'pooling'>, channels: number): number {
  return config.pooling === 'stats' || config.pooling === 'attentive' ? 2 * channels : channels;
}

export const MODEL_PRESETS = { default: defaultModelConfig, compact: compactModelConfig, m5: m5ModelConfig, 'm5-compact': m5CompactModelConfig } as const;
export type ModelPreset = keyof typeof MODEL_PRESETS;

/** How the speaker's gender takes part, compared against 'none' on the same folds and seeds:
 * - concat: the gender one-hot joins the pooled features before the classifier;
 * - film:   a per-channel scale and shift from the gender in every convolution block;
 * - aux:    no gender input; the gender head is trained beside the emotion classifier (multi-task);
 * - none:   no gender input and no gender loss (the head is left untrained). */
export const GENDER_DESIGNS = ['concat', 'film', 'aux', 'none'] as const;
export type GenderDesign = (typeof GENDER_DESIGNS)[number];

/** The configuration a design trains: the gender input on or off, and how it joins. */
export function withGenderDesign(config: ModelConfig, design: GenderDesign): ModelConfig {
  const { fusion: _, ...rest } = config;
  return design === 'concat' || design === 'film' ? { ...rest, useGender: true, fusion: design } : { ...rest, useGender: false };
}
