import { beforeAll, describe, it } from 'vitest';
import * as ser from '../../src/index.js';
import { conv1dCases } from '../suite/conv1d.js';
beforeAll(async () => { await ser.init(); });
describe('conv1d kernels (webgpu vs CPU reference)', () => { for (const c of conv1dCases) it(c.name, () => c.run(ser)); });
