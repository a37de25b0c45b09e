// The demo page's modules that run without a DOM, in Node: the in-page training loop (web/train-loop.ts, on the
// CPU reference), where a run that fails releases the model it built, as the page cannot (it never receives it);
// and the chart colours (web/chart.ts) for any class name a checkpoint may carry.

import { describe, expect, it } from 'vitest';
import { engine, init } from '../src/engine/context.js';
import { colorOf } from '../web/chart.js';
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
