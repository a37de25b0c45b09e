// ser-webgpu's public API: the engine (device, tensors, autograd, ops, modules, optimiser) and the speech
// emotion recogniser built on it. The same module is the Node entry and the browser bundle.

export { init, engine, tunePending, type Engine, type InitOptions } from './engine/context.js';
export type { TuningResult } from './gpu/tuner.js';
export { Tensor, ShapeError, tidy, tidyAsync, noGrad, withoutGrad } from './engine/tensor.js';
export * from './engine/ops.js';
export { Module, type ArrayTensor } from './engine/module.js';
export { Conv1d, Linear, BatchNorm1d, type LinearInit } from './engine/nn.js';
export { seededRandom } from './engine/random.js';
// AdamW is the accurate name: weightDecay is decoupled (torch.optim.AdamW), not an L2 term in the gradient as
// torch.optim.Adam's weight_decay; test/export.test.ts checks the steps against torch.optim.AdamW.
export { Adam, Adam as AdamW, type AdamConfig } from './engine/adam.js';
export { CapturedStep, onReplay, setStepCapture } from './engine/captured-step.js';
export { GpuError } from './gpu/gpu-error.js';
export { formatProfile, type KernelTime } from './gpu/profiler.js';
export type { Backend, Storage } from './kernels/backend.js';
export { conv1dGeometry, pool1dGeometry, type Conv1dParams, type Conv1dGeometry, type Pool1dParams, type Pool1dGeometry } from './kernels/geometry.js';
/** Every kernel, called with a backend (`engine().backend`): the GPU implementation or the CPU reference. */
export * as kernels from './kernels/index.js';
export * as reference from './kernels/cpu/reference.js';
// The embedding API for host pages and Node services: load a checkpoint, classify, stream live audio.
export { loadRecognizer, createRecognizer, Recognizer, StreamingResampler } from './embed.js';
export type { CheckpointSource, WavSource, StreamSource, LoadOptions, StreamOptions, StreamResult, StreamStats, StreamHandle, SpeakerGender } from './embed.js';
