import { beforeAll, describe, it } from 'vitest';
import * as ser from '../../src/index.js';
import { trainingCases } from '../suite/training.js';
beforeAll(async () => { await ser.init(); });
describe('training kernels (webgpu vs CPU reference)', () => { for (const c of trainingCases) it(c.name, () => c.run(ser)); });
