// The page's one line about the model in use (#model-status): what it classifies, what it reads, and, for an
// ensemble (`ser ensemble`), that several networks decide together, each prediction costing that many.

import type { ModelConfig } from '../src/model/config.js';

export function modelSummary(label: string, model: { config: ModelConfig; networks: number }): string {
  const c = model.config;
  const networks = model.networks > 1 ? ` · ${model.networks} networks, their probabilities averaged` : '';
  return (
    `${label}: ${c.classes.join(', ')} · ${c.windowSamples / c.sampleRate}-s windows at ${c.sampleRate / 1000} kHz · ` +
    `${c.blocks.map((b) => b.channels).join('-')} channels${networks} · ${c.useGender ? 'gender-aware' : 'without the gender input'}`
  );
}
