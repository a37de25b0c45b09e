// GPU timestamp profiler: every compute pass gets a begin/end timestamp pair; after each submit the pairs are
// resolved, read back asynchronously and summed per kernel name. Enabled with `runtime.enableProfiler()`
// (`ser train --profile`, `npm run bench -- --profile`).

export interface KernelTime {
  kernel: string;
  calls: number;
  ms: number;
  share: number;
}

const CAPACITY = 512; // timestamp pairs per submit

export class Profiler {
  private querySet: GPUQuerySet;
  private resolveBuffer: GPUBuffer;
  private readBuffers: GPUBuffer[] = [];
  private labels: string[] = [];
  private inFlight: Promise<void>[] = [];
  private totals = new Map<string, { calls: number; ns: number }>();

  constructor(private device: GPUDevice) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: CAPACITY * 2 });
    this.resolveBuffer = device.createBuffer({
      size: CAPACITY * 16,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
  }

  timestampWrites(kernel: string): GPUComputePassTimestampWrites {
    const pair = this.labels.length;
    this.labels.push(kernel);
    return { querySet: this.querySet, beginningOfPassWriteIndex: pair * 2, endOfPassWriteIndex: pair * 2 + 1 };
  }

  full(): boolean {
    return this.labels.length >= CAPACITY;
  }

  /** Records the copy of this batch's timestamps into a mappable buffer. */
  resolve(encoder: GPUCommandEncoder): void {
    if (this.labels.length === 0) return;
    const bytes = this.labels.length * 16;
    encoder.resolveQuerySet(this.querySet, 0, this.labels.length * 2, this.resolveBuffer, 0);
    const read = this.readBuffers.pop() ?? this.device.createBuffer({ size: CAPACITY * 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, read, 0, bytes);
    const labels = this.labels;
    this.labels = [];
    this.pendingRead = { read, labels };
  }

  private pendingRead: { read: GPUBuffer; labels: string[] } | null = null;
  private failure: unknown = null;

  afterSubmit(): void {
    if (!this.pendingRead) return;
    const { read, labels } = this.pendingRead;
    this.pendingRead = null;
    this.inFlight.push(
      read.mapAsync(GPUMapMode.READ).then(() => {
        const stamps = new BigUint64Array(read.getMappedRange(0, labels.length * 16));
        labels.forEach((kernel, i) => {
          const ns = Number(stamps[2 * i + 1] - stamps[2 * i]);
          const t = this.totals.get(kernel) ?? { calls: 0, ns: 0 };
          t.calls++;
          t.ns += Math.max(0, ns);
          this.totals.set(kernel, t);
        });
        read.unmap();
        this.readBuffers.push(read);
      }, (e: unknown) => {
        // Kept for table(): a map that fails (a lost device) must not be an unhandled rejection meanwhile.
        this.failure ??= e;
      }),
    );
  }

  /** Per-kernel totals since the last reset, largest first. Call after the workload's last sync. */
  async table(): Promise<KernelTime[]> {
    await Promise.all(this.inFlight);
    this.inFlight = [];
    if (this.failure) throw new Error(`profiler: the timestamps could not be read (${(this.failure as Error).message ?? this.failure})`);
    const totalNs = [...this.totals.values()].reduce((s, t) => s + t.ns, 0) || 1;
    return [...this.totals.entries()]
      .map(([kernel, t]) => ({ kernel, calls: t.calls, ms: t.ns / 1e6, share: t.ns / totalNs }))
      .sort((a, b) => b.ms - a.ms);
  }

  reset(): void {
    this.totals.clear();
  }
}

export function formatProfile(rows: KernelTime[]): string {
  const lines = ['kernel'.padEnd(34) + 'calls'.padStart(8) + 'ms'.padStart(12) + 'share'.padStart(9)];
  for (const r of rows) {
    lines.push(r.kernel.padEnd(34) + String(r.calls).padStart(8) + r.ms.toFixed(3).padStart(12) + `${(r.share * 100).toFixed(1)}%`.padStart(9));
  }
  return lines.join('\n');
}
