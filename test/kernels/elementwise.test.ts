import { beforeAll, describe, it } from 'vitest';
import * as ser from '../../src/index.js';
import { elementwiseCases } from '../suite/elementwise.js';
beforeAll(async () => { await ser.init(); });
describe('elementwise kernels (webgpu vs CPU reference)', () => { for (const c of elementwiseCases) it(c.name, () => c.run(ser)); });
