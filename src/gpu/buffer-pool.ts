// A pool of GPU storage buffers, so that a training loop reuses the same few buffers every step instead of
// creating and destroying them. Sizes are rounded up to buckets (powers of two split in quarters) so that
// tensors of slightly different sizes share buffers.
//
// A released buffer may still be read by commands that are recorded but not yet submitted; writing it with
// queue.writeBuffer before that submit would overtake those reads. So releases wait in `pending` and become
// reusable only once the runtime has submitted (see `afterSubmit`).
//
// Which free buffer of a size is handed out does not depend on the order of releases: the oldest (lowest id)
// is. So a training step that acquires and releases alike every step gets the same buffers every step, and the
// bind groups cached for them (binding-cache.ts) are found again: in last-released-first order, 78 of the default
// model's 112 dispatches a step created a new bind group (~35 µs each on lavapipe), because releases come in
// a different order than acquisitions.

export interface PoolCounters {
  /** Buffers handed out and not yet released. */
  liveBuffers: number;
  liveBytes: number;
  /** Buffers created and not destroyed (live + pooled + pending). */
  allocatedBuffers: number;
  allocatedBytes: number;
}

const STORAGE_USAGE = 0x80; // GPUBufferUsage.STORAGE

export function bucketBytes(bytes: number): number {
  const min = 256;
  if (bytes <= min) return min;
  const pow = 2 ** Math.ceil(Math.log2(bytes));
  const quarter = pow / 8; // four steps between pow/2 and pow
  return Math.ceil(bytes / quarter) * quarter;
}

/** A pooled buffer with its creation number (the order free buffers are handed out in) and its size: the same
 * object for the buffer's whole life, so that a release allocates nothing and reads no property of the buffer (in
 * dawn.node each read is a call into native code). */
interface Pooled {
  readonly buffer: GPUBuffer;
  readonly id: number;
  readonly size: number;
  /** Its creation failed (out of memory): destroyed when it comes back, never handed out again. */
  dead: boolean;
  /** When it was last handed out, by the pool's count of acquisitions (see `releaseSince`). */
  acquired: number;
}

export class BufferPool {
  /** Free buffers by size, each list ordered newest first, so pop() gives the oldest. */
  private free = new Map<number, Pooled[]>();
  private nextId = 0;
  private pending: Pooled[] = [];
  /** Buffers handed out, with their creation numbers (kept beside them: sorting by a WeakMap lookup per
   * comparison cost ~0.2 ms a training step). */
  private live = new Map<GPUBuffer, Pooled>();
  private acquisitions = 0;
  private counters: PoolCounters = { liveBuffers: 0, liveBytes: 0, allocatedBuffers: 0, allocatedBytes: 0 };

  /** The largest buffer this pool may hand out, and the device limit that sets it: a storage buffer must fit in
   * one binding. Ops check their outputs against it before allocating (fitsBinding in src/engine/checks.ts). */
  readonly limit: { bytes: number; name: string };

  constructor(
    private device: GPUDevice,
    private usage: GPUBufferUsageFlags,
    /** Where a creation's error scope goes: the runtime's next wait throws what it holds. */
    private reportError: (error: Promise<GPUError | null>) => void = () => undefined,
  ) {
    const { maxBufferSize, maxStorageBufferBindingSize } = device.limits;
    const storage = (usage & STORAGE_USAGE) !== 0 && maxStorageBufferBindingSize < maxBufferSize;
    this.limit = storage ? { bytes: maxStorageBufferBindingSize, name: 'maxStorageBufferBindingSize' } : { bytes: maxBufferSize, name: 'maxBufferSize' };
  }

  acquire(bytes: number, label: string): GPUBuffer {
    // Refused here, before anything is recorded: the device would otherwise reject the whole batch that binds it.
    if (bytes > this.limit.bytes) {
      throw new RangeError(`${label}: ${bytes} bytes (${Math.ceil(bytes / 4)} float32 values) is more than this adapter's ${this.limit.name}, ${this.limit.bytes} bytes: use smaller tensors (a smaller batch or shorter windows)`);
    }
    // A bucket never rounds a size that fits past the limit.
    const size = Math.min(bucketBytes(bytes), this.limit.bytes);
    const pooled = this.takeFree(size) ?? this.create(size, label);
    pooled.acquired = ++this.acquisitions;
    this.live.set(pooled.buffer, pooled);
    this.counters.liveBuffers++;
    this.counters.liveBytes += size;
    return pooled.buffer;
  }

  release(buffer: GPUBuffer): void {
    const pooled = this.live.get(buffer);
    if (pooled === undefined) throw new Error(`buffer "${buffer.label}" released twice or not from this pool`);
    this.live.delete(buffer);
    this.counters.liveBuffers--;
    this.counters.liveBytes -= pooled.size;
    this.pending.push(pooled);
  }

  /** The count of acquisitions at which `buffer` was handed out, while it is (undefined once released): a
   * recorded step checks by it that a buffer it binds is still held by the same owner. */
  acquisition(buffer: GPUBuffer): number | undefined {
    return this.live.get(buffer)?.acquired;
  }

  /** A point to `releaseSince`: the acquisitions so far. */
  mark(): number {
    return this.acquisitions;
  }

  /** Releases every buffer handed out after `mark` and not released since: what a kernel that threw had acquired
   * (see defineKernel in src/kernels/backend.ts). */
  releaseSince(mark: number): void {
    for (const [buffer, pooled] of this.live) if (pooled.acquired > mark) this.release(buffer);
  }

  /** Destroys a buffer handed out rather than pooling it again: one whose state is not known (a read's staging
   * buffer whose map failed). Work already submitted on it completes first (WebGPU defers the destruction). */
  discard(buffer: GPUBuffer): void {
    const pooled = this.live.get(buffer);
    if (pooled === undefined) throw new Error(`buffer "${buffer.label}" discarded after its release or not from this pool`);
    this.live.delete(buffer);
    this.counters.liveBuffers--;
    this.counters.liveBytes -= pooled.size;
    this.drop(pooled);
  }

  /** Called by the runtime after each queue submit: pending releases may now be overwritten safely. */
  afterSubmit(): void {
    for (const entry of this.pending) {
      if (entry.dead) {
        this.drop(entry);
        continue;
      }
      let list = this.free.get(entry.size);
      if (!list) this.free.set(entry.size, (list = []));
      // Inserted in order (newest first), from the end: the lists are short. Sorting each list a submit touched
      // was 4 % of a training step's JavaScript in a profile.
      let i = list.length;
      list.push(entry);
      for (; i > 0 && list[i - 1].id < entry.id; i--) list[i] = list[i - 1];
      list[i] = entry;
    }
    this.pending = [];
  }

  /** Destroys the pooled (not live) buffers, e.g. after a large one-off computation. */
  trim(): void {
    for (const list of this.free.values()) list.forEach((pooled) => this.drop(pooled));
    this.free.clear();
  }

  stats(): PoolCounters {
    return { ...this.counters };
  }

  /** The oldest free buffer of a size, passing over (and destroying) any whose creation turned out to fail. */
  private takeFree(size: number): Pooled | undefined {
    const list = this.free.get(size);
    let pooled;
    while ((pooled = list?.pop()) && pooled.dead) this.drop(pooled);
    return pooled;
  }

  private drop(pooled: Pooled): void {
    this.counters.allocatedBuffers--;
    this.counters.allocatedBytes -= pooled.size;
    pooled.buffer.destroy();
  }

  private create(size: number, label: string): Pooled {
    // Its own error scope, since no batch's may be open: an out-of-memory buffer is invalid, and pooled again it
    // would fail every batch that later binds it, after memory has been freed too.
    this.device.pushErrorScope('out-of-memory');
    const buffer = this.device.createBuffer({ size, usage: this.usage, label });
    const pooled: Pooled = { buffer, id: this.nextId++, size, dead: false, acquired: 0 };
    this.reportError(
      this.device.popErrorScope().then((error) => {
        if (error) pooled.dead = true;
        return error;
      }),
    );
    this.counters.allocatedBuffers++;
    this.counters.allocatedBytes += size;
    return pooled;
  }
}
