import { describe, it } from 'vitest';
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
