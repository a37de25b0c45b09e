// A conv1d pass whose reduction runs in chunks (the weight gradient over N·Lout; any pass on the tiled core when
// its reduction is split): each chunk writes a partial result, and a second dispatch adds them up in a fixed
// order (the `reduce` entry of shaders/conv1d-backward-weight.wgsl): deterministic, no float atomics.

import { Params } from '../gpu/params.js';
import { grid1d, type GpuRuntime } from '../gpu/runtime.js';
import { allocate, type GpuStorage } from '../gpu/storage.js';
import backwardWeightKernels from '../../shaders/conv1d-backward-weight.wgsl';
import common from '../../shaders/conv1d-common.wgsl';
import type { Conv1dGeometry as Geometry } from './geometry.js';

export type Pass = 'forward' | 'backwardInput' | 'backwardWeight';

/** Invocations per workgroup of the direct kernels and of the reduce pass. */
export const WG = 64;

/** No chunk of a reduction over positions is shorter than this (so that the reduce pass stays negligible). */
export const MIN_CHUNK = 256;

export const backwardWeightShader = common + backwardWeightKernels;

/** Per geometry, which a layer's three passes share and each reads several times: its shapes and its passes'
 * tuning keys, built once. */
const names = new WeakMap<Geometry, { shapes: string; problems: Partial<Record<Pass, string>> }>();

function namesOf(g: Geometry) {
  let n = names.get(g);
  if (!n) {
    const shapes = `x[${g.N},${g.Cin},${g.L}] w[${g.Cout},${g.Cin},${g.K}] y[${g.N},${g.Cout},${g.Lout}] stride ${g.stride} padding ${g.padding} dilation ${g.dilation}`;
    names.set(g, (n = { shapes, problems: {} }));
  }
  return n;
}

/** The layer's shapes, for dispatch labels, tuning keys and errors. */
export const layerShapes = (g: Geometry): string => namesOf(g).shapes;

/** The tuner's key for a pass over the layer. */
export function passProblem(pass: Pass, g: Geometry): string {
  const n = namesOf(g);
  return (n.problems[pass] ??= `conv1d.${pass} ${n.shapes}`);
}

/** A result of `count` values that `dispatch` computes as `chunks` partial sums ([chunks, count]; straight into
 * the result when there is one chunk), then added up in a fixed order. */
export function summedOverChunks(rt: GpuRuntime, pass: Pass, count: number, chunks: number, shapes: string, dispatch: (partials: GpuStorage) => void): GpuStorage {
  const result = allocate(rt, count, 'conv1d.out');
  if (chunks === 1) {
    dispatch(result);
    return result;
  }
  const partials = allocate(rt, chunks * count, 'conv1d.partials');
  dispatch(partials);
  const [gx, gy] = grid1d(count, WG);
  rt.dispatch({
    kernel: `conv1d.${pass}.reduce`,
    shapes,
    shader: backwardWeightShader,
    entryPoint: 'reduce',
    constants: { WG },
    params: new Params().u32(count, chunks, gx * WG),
    buffers: [partials.binding, result.binding],
    workgroups: [gx, gy],
  });
  rt.release(partials.buffer);
  return result;
}
