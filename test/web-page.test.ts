// The demo page's modules that run without a DOM, in Node: the in-page training loop (web/train-loop.ts, on the
// CPU reference), where a run that fails releases the model it built, as the page cannot (it never receives it);
// the chart colours (web/chart.ts) for any class name a checkpoint may carry; and the model's status line
// (web/model-summary.ts), which says when several networks decide together.

import { describe, expect, it } from 'vitest';
import { engine, init } from '../src/engine/context.js';
import { createRecognizer } from '../src/embed.js';
import { compactModelConfig } from '../src/model/config.js';
import { SerEnsemble } from '../src/model/ensemble.js';
import { SerModel } from '../src/model/ser-model.js';
import { colorOf } from '../web/chart.js';
import { modelSummary } from '../web/model-summary.js';
import { trainInPage } from '../web/train-loop.js';

describe('trainInPage', () => {
  // A run of the tiny corpus whose page callbacks are given; it must leave the device as it found it.
  async function expectReleasedAfter(callbacks: Pick<Parameters<typeof trainInPage>[0], 'onStep' | 'shouldStop'>, error: string) {
    await init({ backend: 'cpu' });
    const before = engine().backend.counters();
    await expect(trainInPage({ preset: 'compact', corpus: 'tiny', steps: 5, ...callbacks })).rejects.toThrow(error);
    expect(engine().backend.counters().liveBuffers).toBe(before.liveBuffers);
    expect(engine().backend.counters().liveBytes).toBe(before.liveBytes);
  }

  it('disposes the model it built when the run fails', async () => {
    const shouldStop = () => {
      throw new Error('the page went away');
    };
    await expectReleasedAfter({ onStep: () => undefined, shouldStop }, 'the page went away');
  });

  it('disposes it too when the page callback fails after a trained step', async () => {
    const onStep = () => {
      throw new Error('the chart failed');
    };
    await expectReleasedAfter({ onStep, shouldStop: () => false }, 'the chart failed');
  });
});

describe('colorOf', () => {
  it('gives a colour for class names that are also names on Object.prototype', () => {
    // EMOTION_COLORS.constructor was Object itself: the bars got no colour, the chart's line the previous one's.
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) expect(colorOf(name, 1)).toMatch(/^#[0-9a-f]{6}$/);
    expect(colorOf('angry')).toBe('#d64545');
  });
});

describe('modelSummary', () => {
  it('describes one network, and says how many decide together in an ensemble', async () => {
    await init({ backend: 'cpu' });
    const config = compactModelConfig(['angry', 'sad']);
    const one = createRecognizer(new SerModel(config, 1));
    const three = createRecognizer(new SerEnsemble([1, 2, 3].map((seed) => new SerModel(config, seed))));
    expect(one.networks).toBe(1);
    expect(three.networks).toBe(3);
    const line = modelSummary('model.safetensors', one);
    expect(line).toMatch(/^model\.safetensors: angry, sad · [\d.]+-s windows at 16 kHz · [\d-]+ channels · (gender-aware|without the gender input)$/);
    expect(line).not.toContain('networks');
    expect(modelSummary('ensemble.safetensors', three)).toContain(' channels · 3 networks, their probabilities averaged · ');
    one.dispose();
    three.dispose();
  });
});
