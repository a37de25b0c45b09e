// The uniform parameters of a dispatch (the struct at @binding(0), see runtime.ts), packed as the shader reads them.

/** Packs a uniform struct of 4-byte scalars, in field order. */
export class Params {
  // Packed as they come, into one buffer seen as u32, i32 and f32 (the platform's byte order: little-endian
  // wherever WebGPU runs), so that the cache key and the bytes need no second pass over boxed numbers.
  private buffer = new ArrayBuffer(64);
  private u = new Uint32Array(this.buffer);
  private i = new Int32Array(this.buffer);
  private f = new Float32Array(this.buffer);
  private n = 0;
  u32(...values: number[]): this {
    for (const v of values) this.room(v, true).u[this.n++] = v;
    return this;
  }
  i32(...values: number[]): this {
    for (const v of values) this.room(v, true).i[this.n++] = v;
    return this;
  }
  f32(...values: number[]): this {
    for (const v of values) this.room(v, false).f[this.n++] = v;
    return this;
  }
  /** Identifies the contents (the uniform cache's key): the packed bytes as a string, two characters a word. */
  key(): string {
    return String.fromCharCode.apply(null, new Uint16Array(this.buffer, 0, 2 * this.n) as unknown as number[]);
  }
  /** The packed words, padded to a multiple of 16 bytes (at least 16). */
  bytes(): ArrayBuffer {
    return this.buffer.slice(0, Math.max(16, Math.ceil((this.n * 4) / 16) * 16));
  }
  /** Checks an integer field and makes room for one more word. */
  private room(v: number, integer: boolean): this {
    if (integer && !Number.isInteger(v)) throw new Error(`uniform field ${this.n} must be an integer, got ${v}`);
    if (this.n === this.u.length) {
      const grown = new ArrayBuffer(2 * this.buffer.byteLength);
      new Uint8Array(grown).set(new Uint8Array(this.buffer));
      this.buffer = grown;
      this.u = new Uint32Array(grown);
      this.i = new Int32Array(grown);
      this.f = new Float32Array(grown);
    }
    return this;
  }
}
