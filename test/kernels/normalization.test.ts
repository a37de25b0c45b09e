import { describe, expect, it } from 'vitest';
import { batchNormCover } from '../../src/kernels/normalization.js';

// batchNormApply and the chunked path's input gradient cover long rows a row at a time, the blocks of a row on the
// grid's x unfolded: rows past 65535 blocks of 1024 values (67 M, which GPUs that bind 2^28 floats take, lavapipe's
// 128 MiB binding not) were refused at dispatch after the output was allocated. Those take the flat walk, whose
// grid grid1d folds. Checked on the plan alone: no adapter here binds such a row.
describe('batch norm: the elementwise passes’ grid', () => {
  it('covers a row past 65535 blocks with the flat walk, within 65535 workgroups a dimension; shorter long rows by rows', () => {
    const blocks = 65535 * 1024;
    for (const [N, C, L] of [[1, 1, blocks + 1], [1, 1, 2 ** 28], [2, 3, blocks + 4096]]) {
      const cover = batchNormCover(N, C, L);
      expect(cover.entryPoint, `x[${N},${C},${L}]`).toBe('flat');
      for (const n of cover.workgroups) expect(n, `x[${N},${C},${L}]: ${cover.workgroups}`).toBeLessThanOrEqual(65535);
    }
    expect(batchNormCover(1, 1, blocks).entryPoint).toBe('rows');
    expect(batchNormCover(16, 64, 12000)).toMatchObject({ entryPoint: 'rows', workgroups: [12, 1024, 1] });
  });
});
