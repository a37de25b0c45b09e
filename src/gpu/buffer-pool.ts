// A pool of GPU storage buffers, so that a training loop reuses the same few buffers every step instead of
// creating and destroying them. Sizes are rounded up to buckets (powers of two split in quarters) so that
// tensors of slightly different sizes share buffers.
//
// A released buffer may still be read by commands that are recorded but not yet submitted; writing it with
// queue.writeBuffer before that submit would overtake those reads. So releases wait in `pending` and become
// reusable only once the runtime has submitted (see `afterSubmit`).

export interface PoolCounters {
  /** Buffers handed out and not yet released. */
  liveBuffers: number;
  liveBytes: number;
  /** Buffers created and not destroyed (live + pooled + pending). */
  allocatedBuffers: number;
  allocatedBytes: number;
}

export function bucketBytes(bytes: number): number {
  const min = 256;
  if (bytes <= min) return min;
  const pow = 2 ** Math.ceil(Math.log2(bytes));
  const quarter = pow / 8; // four steps between pow/2 and pow
  return Math.ceil(bytes / quarter) * quarter;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private pending: GPUBuffer[] = [];
  private live = new Set<GPUBuffer>();
  private counters: PoolCounters = { liveBuffers: 0, liveBytes: 0, allocatedBuffers: 0, allocatedBytes: 0 };

  constructor(
    private device: GPUDevice,
    private usage: GPUBufferUsageFlags,
  ) {}

  acquire(bytes: number, label: string): GPUBuffer {
    const size = bucketBytes(bytes);
    const reused = this.free.get(size)?.pop();
    const buffer = reused ?? this.create(size, label);
    this.live.add(buffer);
    this.counters.liveBuffers++;
    this.counters.liveBytes += size;
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    if (!this.live.delete(buffer)) throw new Error(`buffer "${buffer.label}" released twice or not from this pool`);
    this.counters.liveBuffers--;
    this.counters.liveBytes -= buffer.size;
    this.pending.push(buffer);
  }

  /** Called by the runtime after each queue submit: pending releases may now be overwritten safely. */
  afterSubmit(): void {
    for (const buffer of this.pending) {
      const list = this.free.get(buffer.size) ?? [];
      list.push(buffer);
      this.free.set(buffer.size, list);
    }
    this.pending = [];
  }

  /** Destroys the pooled (not live) buffers, e.g. after a large one-off computation. */
  trim(): void {
    for (const list of this.free.values()) {
      for (const buffer of list) {
        this.counters.allocatedBuffers--;
        this.counters.allocatedBytes -= buffer.size;
        buffer.destroy();
      }
    }
    this.free.clear();
  }

  stats(): PoolCounters {
    return { ...this.counters };
  }

  private create(size: number, label: string): GPUBuffer {
    const buffer = this.device.createBuffer({ size, usage: this.usage, label });
    this.counters.allocatedBuffers++;
    this.counters.allocatedBytes += size;
    return buffer;
  }
}
