// The GPU path, on this machine's adapter: a runtime that describes its adapter as a GPU takes the choices a GPU
// takes (the tiled core for GEMM and for the convolutions' three passes, the weight gradient's reduction split
// in chunks, the direct kernel where a GEMM side is too thin for tiles), so that logic, which otherwise only a
// real GPU reaches, is checked against the CPU reference here. Shapes stay small enough for the 32×32 tiles:
// lavapipe compiles each bigger tile's pipelines for seconds (gemm.test.ts and conv1d.test.ts cover those).

import { describe, expect, it } from 'vitest';
import * as ser from '../../src/index.js';
import { asGpu } from '../../src/gpu/device.js';
import { GpuRuntime } from '../../src/gpu/runtime.js';
import { WebGpuBackend } from '../../src/kernels/backend.js';
import { kernelsRun } from '../kernels-run.js';
import { assertClose, randn } from '../suite/harness.js';

// A second runtime on this machine's device, whose profile describes the adapter as a GPU.
const real = (await ser.init()).runtime;
if (!real) throw new Error('the GPU path needs the WebGPU backend');
const rt = new GpuRuntime(asGpu(real.gpu));
const backend = new WebGpuBackend(rt);
/** Which kernels ran is read from the profiler, which needs timestamp queries. */
const noTimestamps = !rt.profile.timestamps;

/** Views of `parts` in one buffer, each at an aligned offset with garbage around it (as the optimiser's flat
 * vector holds the parameters, but with every gap filled): a kernel that reads past a view's values, or ignores
 * its offset, gets garbage. */
function viewsOf(parts: Float32Array[]): ser.Storage[] {
  const align = backend.viewAlignment;
  const offsets = parts.map((_, i) => parts.slice(0, i).reduce((at, part) => at + Math.ceil((part.length + 1) / align) * align, align));
  const base = new Float32Array(offsets[parts.length - 1] + Math.ceil((parts[parts.length - 1].length + 1) / align) * align).fill(1e30);
  parts.forEach((part, i) => base.set(part, offsets[i]));
  const storage = backend.upload(base);
  return parts.map((part, i) => backend.view(storage, offsets[i], part.length));
}

describe('GPU path (a runtime whose adapter is a GPU, on this machine)', () => {
  it.skipIf(noTimestamps)('takes the tiled GEMM (skipped without timestamp queries)', async () => {
    expect(rt.profile.kernels).toBe('tiled');
    const [M, N, K] = [37, 45, 29];
    const a = randn(M * K, 1);
    const b = randn(K * N, 2);
    const ran = await kernelsRun(rt, async () => {
      for (const [transA, transB] of [[false, false], [true, true]]) {
        const out = ser.kernels.gemm(backend, backend.upload(a), backend.upload(b), { M, N, K, transA, transB });
        const want = ser.reference.gemm(a, b, { M, N, K, transA, transB });
        assertClose(await backend.download(out), want, 1e-5, `gemm transA=${transA} transB=${transB}`);
      }
    });
    expect(ran.has('gemm.tiled')).toBe(true);
  });

  it.skipIf(noTimestamps)('takes a GEMM with its operands along k transposed first where the tuner chose that (1024³)', async () => {
    // The smallest product offered the candidate; the 32×32 tile, whose pipelines lavapipe compiles quickest.
    const [M, N, K] = [1024, 1024, 1024];
    const a = randn(M * K, 3);
    const b = randn(N * K, 4);
    const o = { M, N, K, transB: true };
    const enabled = rt.tuner.enabled;
    rt.tuner.enabled = true;
    rt.tuner.load({ [`gemm ${M}x${N}x${K} transB`]: 'tiled 32x32 4x4 k16 transposed' });
    try {
      const ran = await kernelsRun(rt, async () => {
        const out = ser.kernels.gemm(backend, backend.upload(a), backend.upload(b), o);
        assertClose(await backend.download(out), ser.reference.gemm(a, b, o), 1e-4, 'gemm 1024³ transB, transposed first');
      });
      expect([...ran].filter((k) => k === 'transpose' || k.startsWith('gemm.')).sort()).toEqual(['gemm.tiled', 'transpose']);
    } finally {
      rt.tuner.load({});
      rt.tuner.enabled = enabled;
    }
  });

  // [N, Cin, L, Cout, K, stride, padding, dilation]
  const shapes = [
    [3, 16, 500, 20, 3, 1, 1, 1], // the middle layers' kind; the weight gradient's reduction in 6 chunks
    [2, 16, 403, 17, 9, 3, 4, 2], // stride and dilation: the input gradient's gather skips positions
    [2, 1, 1000, 16, 80, 4, 38, 1], // the first layer's kind: one input channel, so its input gradient is direct
  ];
  for (const [N, Cin, L, Cout, K, stride, padding, dilation] of shapes) {
    it.skipIf(noTimestamps)(`runs conv1d x[${N},${Cin},${L}] w[${Cout},${Cin},${K}] s${stride} p${padding} d${dilation} on the tiled core, all three passes (weight and bias views of one buffer)`, async () => {
      const p = { stride, padding, dilation };
      const xShape = [N, Cin, L];
      const wShape = [Cout, Cin, K];
      const g = ser.conv1dGeometry(xShape, wShape, p);
      const { Lout } = g;
      const [x, w, bias, dy] = [randn(N * Cin * L, 3), randn(Cout * Cin * K, 4), randn(Cout, 5), randn(N * Cout * Lout, 6)];
      const ran = await kernelsRun(rt, async () => {
        // The weight and the bias are views, as parameters in the optimiser's flat vector are.
        const [gx, gdy] = [x, dy].map((v) => backend.upload(v));
        const [gw, gb] = viewsOf([w, bias]);
        assertClose(await backend.download(ser.kernels.conv1d(backend, gx, gw, gb, g)), ser.reference.conv1d(x, xShape, w, wShape, bias, p), 1e-5, 'forward');
        assertClose(await backend.download(ser.kernels.conv1dBackwardInput(backend, gdy, gw, g)), ser.reference.conv1dBackwardInput(dy, w, xShape, wShape, p), 1e-4, 'input gradient');
        assertClose(await backend.download(ser.kernels.conv1dBackwardWeight(backend, gdy, gx, g)), ser.reference.conv1dBackwardWeight(dy, x, xShape, wShape, p), 1e-4, 'weight gradient');
      });
      expect(ran.has('conv1d.forward.tiled')).toBe(true);
      expect(ran.has('conv1d.backwardWeight.tiled')).toBe(true);
      expect(ran.has(Cin === 1 ? 'conv1d.backwardInput' : 'conv1d.backwardInput.tiled')).toBe(true);
      if (N * Lout > 512) expect(ran.has('conv1d.backwardWeight.reduce')).toBe(true);
    });
  }
});
