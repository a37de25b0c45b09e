// The spectral family on WebGPU: the log energy of complex values, the filter bank's log band energies fused
// into one dispatch each way (shaders/spectral.wgsl; composed of elementwise ops they took 4 forward and 3
// backward). Its CPU reference (./cpu/spectral.ts) is beside it at the end of this file.
//
// Layout: z [outer, 2, inner] dense row-major float32, the real parts of a block of `inner` values then their
// imaginary parts (conv1d's [N, 2F, T] with F real filters then F imaginary: outer N, inner F·T);
// out [outer, inner] = log(re² + im² + floor); dz [outer, 2, inner].

import { Params } from '../gpu/params.js';
import { grid1d, type GpuRuntime } from '../gpu/runtime.js';
import { allocate, gpuStorage } from '../gpu/storage.js';
import { defineKernel, type Storage } from './backend.js';
import * as ref from './cpu/spectral.js';
import spectralShader from '../../shaders/spectral.wgsl';

const WG = 64;

/** out = log(re² + im² + floor), or with `g` (the gradient of out) dz; a thread per output. */
function logEnergyPass(rt: GpuRuntime, z: Storage, g: Storage | null, outer: number, inner: number, floor: number): Storage {
  const outputs = outer * inner;
  const out = allocate(rt, g ? 2 * outputs : outputs, g ? 'logEnergy.backward' : 'logEnergy');
  rt.dispatch({
    kernel: g ? 'spectral.logEnergyBackward' : 'spectral.logEnergy',
    shapes: `z[${outer},2,${inner}]`,
    shader: spectralShader,
    entryPoint: g ? 'backward' : 'forward',
    constants: { WG },
    params: new Params().u32(outputs, inner).f32(floor),
    buffers: [gpuStorage(z).binding, out.binding, ...(g ? [gpuStorage(g).binding] : [])],
    workgroups: grid1d(outputs, WG),
  });
  return out;
}

const logEnergyGpu = (rt: GpuRuntime, z: Storage, outer: number, inner: number, floor: number) => logEnergyPass(rt, z, null, outer, inner, floor);
const logEnergyBackwardGpu = (rt: GpuRuntime, z: Storage, g: Storage, outer: number, inner: number, floor: number) => logEnergyPass(rt, z, g, outer, inner, floor);

// ------------------------------------------------------------------------------------------ the kernels
// Each on the GPU (above) and on the CPU (the reference).

/** z [outer, 2, inner] → log(re² + im² + floor) [outer, inner]. */
export const logEnergy = defineKernel(logEnergyGpu, (c, z, outer, inner, floor) => c.out(ref.logEnergy(c.data(z), outer, inner, floor)));
/** dz [outer, 2, inner] = 2·(re, im)·g/(re² + im² + floor). */
export const logEnergyBackward = defineKernel(logEnergyBackwardGpu, (c, z, g, outer, inner, floor) => c.out(ref.logEnergyBackward(c.data(z), c.data(g), outer, inner, floor)));
