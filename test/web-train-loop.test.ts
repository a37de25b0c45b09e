// The demo page's in-page training loop (web/train-loop.ts), in Node on the CPU reference: a run that fails
// releases the model it built, as the page cannot (it never receives it).

import { describe, expect, it } from 'vitest';
import { engine, init } from '../src/engine/context.js';
import { trainInPage } from '../web/train-loop.js';

describe('trainInPage', () => {
  it('disposes the model it built when the run fails', async () => {
    await init({ backend: 'cpu' });
    const before = engine().backend.counters();
    const failing = trainInPage({
      preset: 'compact',
      corpus: 'tiny',
      steps: 5,
      onStep: () => undefined,
      shouldStop: () => {
        throw new Error('the page went away');
      },
    });
    await expect(failing).rejects.toThrow('the page went away');
    expect(engine().backend.counters().liveBuffers).toBe(before.liveBuffers);
    expect(engine().backend.counters().liveBytes).toBe(before.liveBytes);
  });

  it('disposes it too when the page callback fails after a trained step', async () => {
    await init({ backend: 'cpu' });
    const before = engine().backend.counters();
    const failing = trainInPage({
      preset: 'compact',
      corpus: 'tiny',
      steps: 5,
      onStep: () => {
        throw new Error('the chart failed');
      },
      shouldStop: () => false,
    });
    await expect(failing).rejects.toThrow('the chart failed');
    expect(engine().backend.counters().liveBuffers).toBe(before.liveBuffers);
  });
});
