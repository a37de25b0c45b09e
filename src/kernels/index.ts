// Every kernel, by family: each called with a backend (kernels/backend.ts) runs its GPU implementation or its CPU
// reference. The autograd ops (src/engine/ops.ts) are written once against these.

export * from './elementwise.js';
export * from './conv1d.js';
export * from './pool1d.js';
export * from './gemm.js';
export * from './normalization.js';
export * from './softmax.js';
export * from './optim.js';
export * from './geometry.js';
export type { Backend, Storage } from './backend.js';
