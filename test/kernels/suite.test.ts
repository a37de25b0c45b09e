// Every family of the kernel suite (test/suite, listed by scripts/families.mjs) on the WebGPU backend: each kernel
// against its CPU reference, each backward against finite differences. The API cases run on both backends in
// test/api.test.ts. One family alone: `npx vitest run test/kernels/suite.test.ts -t pool1d`.
import { beforeAll, describe, it } from 'vitest';
import * as ser from '../../src/index.js';
import { suites } from '../suite/index.js';

beforeAll(async () => { await ser.init(); });
for (const [family, cases] of Object.entries(suites)) {
  if (family === 'api') continue;
  describe(`${family} kernels (webgpu vs CPU reference)`, () => { for (const c of cases) it(c.name, () => c.run(ser)); });
}
