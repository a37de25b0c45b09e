import { describe, expect, it } from 'vitest';
import * as ser from '../src/index.js';
import { apiCases } from './suite/api.js';

// The public API on both backends: the WebGPU kernels and the CPU reference behind the same ops.
for (const backend of ['webgpu', 'cpu'] as const) {
  describe(`public API on ${backend}`, () => {
    for (const c of apiCases) it(c.name, async () => {
      await ser.init({ backend });
      await c.run(ser);
    });
  });
}

describe('init', () => {
  it("keeps one CPU backend: a second init({ backend: 'cpu' }) (a second recogniser) leaves the first one's tensors usable", async () => {
    const first = await ser.loadRecognizer('models/emodb.safetensors', { backend: 'cpu' });
    const second = await ser.loadRecognizer('models/emodb.safetensors', { backend: 'cpu' });
    const audio = Float32Array.from({ length: 16000 }, (_, i) => 0.1 * Math.sin(i / 7));
    // The first recogniser's weights were on a CPU backend the second init() had replaced: "is on cpu but … is on cpu".
    const [a, b] = [await first.classify(audio, 16000), await second.classify(audio, 16000)];
    expect(a.probabilities).toEqual(b.probabilities);
    first.dispose();
    second.dispose();
  });
});
