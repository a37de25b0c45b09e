// The CPU reference of every kernel: plain TypeScript on arrays, accumulating in float64, returning
// Float64Array. The tests check each WebGPU kernel against these, and these against finite differences.
// Each family's reference sits in its own module beside this one.

export * from './elementwise.js';
export * from './conv1d.js';
export * from './pool1d.js';
export * from './gemm.js';
export * from './normalization.js';
export * from './softmax.js';
export * from './optim.js';
