// The SER model's configuration: layer sizes are data, so a checkpoint carries its own architecture.

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
  /** The first block is the learned filter bank: wide kernel, strided. */
  blocks: ConvBlockConfig[];
  /** Hidden units of the emotion classifier after the pooled features (+ gender one-hot); 0 = none. */
  hidden: number;
  dropout: number;
  /** Whether the gender one-hot joins the pooled features before the emotion classifier. */
  useGender: boolean;
  classes: string[];
}

/** The documented default (an M5-style raw-waveform CNN on 3-s windows at 16 kHz). */
export function defaultModelConfig(classes: string[], useGender = true): ModelConfig {
  return {
    sampleRate: 16000,
    windowSamples: 48000,
    blocks: [
      { channels: 64, kernel: 80, stride: 4, pool: 4 },
      { channels: 128, kernel: 3, stride: 1, pool: 4 },
      { channels: 128, kernel: 3, stride: 1, pool: 4 },
      { channels: 256, kernel: 3, stride: 1, pool: 1 },
    ],
    hidden: 64,
    dropout: 0.3,
    useGender,
    classes,
  };
}

/** A small configuration (1-s windows, narrow layers) for the embedded synthetic demo on a CPU adapter. */
export function compactModelConfig(classes: string[], useGender = true): ModelConfig {
  return {
    sampleRate: 16000,
    windowSamples: 16000,
    blocks: [
      { channels: 16, kernel: 80, stride: 4, pool: 4 },
      { channels: 32, kernel: 3, stride: 1, pool: 4 },
      { channels: 32, kernel: 3, stride: 1, pool: 4 },
      { channels: 64, kernel: 3, stride: 1, pool: 1 },
    ],
    hidden: 32,
    dropout: 0.2,
    useGender,
    classes,
  };
}

export const MODEL_PRESETS = { default: defaultModelConfig, compact: compactModelConfig } as const;
export type ModelPreset = keyof typeof MODEL_PRESETS;
