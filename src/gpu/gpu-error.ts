// What the GPU layer throws for what WebGPU reports (validation, out of memory, a lost device) and for what it
// refuses itself (a recorded step that could not be replayed): one class, so that a caller can tell them from its own.

export class GpuError extends Error {}
