import { beforeAll, describe, it } from 'vitest';
import * as ser from '../../src/index.js';
import { pool1dCases } from '../suite/pool1d.js';
beforeAll(async () => { await ser.init(); });
describe('pool1d kernels (webgpu vs CPU reference)', () => { for (const c of pool1dCases) it(c.name, () => c.run(ser)); });
