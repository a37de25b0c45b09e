// The newest samples of a stream, in a fixed buffer: a live stream classifies its latest window without
// keeping (or copying) the audio before it.

/** The newest `capacity` samples. */
export class RingBuffer {
  private readonly data: Float32Array;
  private written = 0;
  constructor(readonly capacity: number) {
    this.data = new Float32Array(capacity);
  }
  /** Samples pushed since the start, including those overwritten since. */
  get total(): number {
    return this.written;
  }
  push(chunk: Float32Array): void {
    // Only the tail of an oversized chunk can survive.
    const tail = chunk.length > this.capacity ? chunk.subarray(chunk.length - this.capacity) : chunk;
    this.written += chunk.length - tail.length;
    for (let i = 0; i < tail.length; ) {
      const at = this.written % this.capacity;
      const n = Math.min(tail.length - i, this.capacity - at);
      this.data.set(tail.subarray(i, i + n), at);
      i += n;
      this.written += n;
    }
  }
  /** The newest n samples in order (n <= capacity, n <= total). */
  latest(n: number): Float32Array {
    if (n > this.capacity || n > this.written) throw new RangeError(`RingBuffer: ${n} samples asked, ${Math.min(this.capacity, this.written)} held`);
    const out = new Float32Array(n);
    const start = this.written - n;
    for (let i = 0; i < n; ) {
      const at = (start + i) % this.capacity;
      const count = Math.min(n - i, this.capacity - at);
      out.set(this.data.subarray(at, at + count), i);
      i += count;
    }
    return out;
  }
}
