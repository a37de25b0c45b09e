// The device's own clock for a span of recorded work: the first compute pass of the span writes a timestamp at
// its beginning, every pass of it one at its end, and the span lasts from the first to the last. The tuner
// times its candidates so (GpuRuntime.timeOnDevice): on the wall clock a sample also held the host's recording
// of its runs (nothing is submitted until the sample's sync) and the sync's round trip, and on the H200 some
// batch-16 kernels read over twice the time the benchmark then measured (the 16x128x750 forward's chosen tile:
// 0.182 ms in tuning, 0.081 in the benchmark).

/** Passes one span may open (a run opens one more after each copy or clear it records): with the span's
 * beginning, 1024 timestamps, a query set's most. */
const CAPACITY = 1023;

export class DeviceTimer {
  private querySet: GPUQuerySet;
  private resolveBuffer: GPUBuffer;
  private readBuffer: GPUBuffer;
  /** Passes opened in the span being recorded; -1 outside one. */
  private passes = -1;
  /** Timestamps the last finished span wrote. */
  private written = 0;

  constructor(device: GPUDevice) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: CAPACITY + 1, label: 'device timer' });
    this.resolveBuffer = device.createBuffer({ size: (CAPACITY + 1) * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    this.readBuffer = device.createBuffer({ size: (CAPACITY + 1) * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  start(): void {
    if (this.passes >= 0) throw new Error('DeviceTimer: a span is already being timed (spans do not nest)');
    this.passes = 0;
  }

  /** The timestamps of the next pass opened: none outside a span; in one, its end (and, for its first pass, its
   * beginning). */
  passWrites(): GPUComputePassTimestampWrites | undefined {
    if (this.passes < 0) return undefined;
    if (this.passes === CAPACITY) throw new Error(`DeviceTimer: a timed span opened more than ${CAPACITY} compute passes`);
    const end = ++this.passes;
    return { querySet: this.querySet, beginningOfPassWriteIndex: end === 1 ? 0 : undefined, endOfPassWriteIndex: end };
  }

  /** Ends the span (its last pass must have ended) and records the copy of its timestamps for `read`; false if
   * it opened no pass, and so has no time. */
  finish(encoder: GPUCommandEncoder): boolean {
    const count = this.passes + 1;
    this.passes = -1;
    if (count === 1) return false;
    encoder.resolveQuerySet(this.querySet, 0, count, this.resolveBuffer, 0);
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, this.readBuffer, 0, count * 8);
    this.written = count;
    return true;
  }

  /** Milliseconds from the first pass's beginning to the last pass's end of the span `finish` ended; once it
   * is submitted. */
  async read(): Promise<number> {
    const count = this.written;
    await this.readBuffer.mapAsync(GPUMapMode.READ, 0, count * 8);
    const stamps = new BigUint64Array(this.readBuffer.getMappedRange(0, count * 8));
    const ns = Number(stamps[count - 1] - stamps[0]);
    this.readBuffer.unmap();
    return Math.max(0, ns) / 1e6;
  }

  /** Leaves a span without timing it (its recording failed). */
  abandon(): void {
    this.passes = -1;
  }
}
