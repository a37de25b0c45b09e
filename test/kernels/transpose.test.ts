import { describe, expect, it } from 'vitest';
import * as ser from '../../src/index.js';
import { transposeGpu } from '../../src/kernels/transpose.js';
import { assertClose, randn } from '../suite/harness.js';

const { runtime, backend } = await ser.init();
if (!runtime) throw new Error('the transpose kernel needs the WebGPU backend');
const rt = runtime;

/** The CPU reference: x [rows, cols] as [cols, rows]. */
function transposed(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
  return out;
}

/** Each rows × cols matrix of random values (seeds from `seed` on), transposed on the GPU, equals the CPU's. */
async function matchesReference(sizes: number[][], seed: number): Promise<void> {
  for (const [rows, cols] of sizes) {
    const x = randn(rows * cols, seed++);
    const gx = backend.upload(x);
    const out = transposeGpu(rt, gx, rows, cols, 'x');
    assertClose(await backend.download(out), transposed(x, rows, cols), 0, `${rows}×${cols}`);
    backend.release(gx);
    backend.release(out);
  }
}

describe('transpose (shaders/transpose.wgsl)', () => {
  it('matches the CPU reference on odd sizes: single rows and columns, part tiles, several tiles each way', async () => {
    await matchesReference([[1, 1], [1, 37], [37, 1], [33, 65], [64, 64], [100, 3], [3, 130]], 4400);
  });

  it('transposes a matrix over 65535 tiles of 32 on a side (2.1 M columns or rows), as the CPU reference', async () => {
    // The grid [column tiles, row tiles] was refused past 65535 on a side, after the output was allocated (a buffer
    // never released); tileGrid folds the tiles into 2-D. Two columns or rows keep it under a second on lavapipe.
    const long = 65535 * 32 + 7;
    await matchesReference([[2, long], [long, 2]], 4500);
  });

  it('refuses a matrix whose size is not rows × cols, naming it', () => {
    const gx = backend.upload(new Float32Array(10));
    expect(() => transposeGpu(rt, gx, 3, 4, 'gemm A')).toThrow(/transpose: gemm A holds 10 values, not 3×4/);
    backend.release(gx);
  });
});
