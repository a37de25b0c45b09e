// Hand-built WAV files for the decoder's tests (test/audio.test.ts, test/wav-fuzz.test.ts): layouts wavefile's
// writer does not make (extra chunks, WAVE_FORMAT_EXTENSIBLE, damaged sizes).

export const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

export interface Chunk {
  id: string;
  body: Uint8Array;
  /** The size written in the chunk header, where it should lie about the body's length. */
  declaredSize?: number;
}

/** A RIFF/WAVE file of these chunks, each padded to an even length. */
export function riff(chunks: Chunk[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const c of chunks) {
    const head = new Uint8Array(8);
    head.set(ascii(c.id));
    new DataView(head.buffer).setUint32(4, c.declaredSize ?? c.body.length, true);
    parts.push(head, c.body);
    if (c.body.length % 2) parts.push(new Uint8Array(1));
  }
  const size = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(12 + size);
  out.set(ascii('RIFF'));
  new DataView(out.buffer).setUint32(4, 4 + size, true);
  out.set(ascii('WAVE'), 8);
  let at = 12;
  for (const p of parts) out.set(p, at), (at += p.length);
  return out;
}

/** A `fmt ` chunk's body; with extensibleFormat, the 40-byte WAVE_FORMAT_EXTENSIBLE form. */
export function fmtBody(format: number, channels: number, rate: number, bits: number, extensibleFormat?: number): Uint8Array {
  const body = new Uint8Array(extensibleFormat === undefined ? 16 : 40);
  const v = new DataView(body.buffer);
  const align = (channels * bits) / 8;
  v.setUint16(0, format, true);
  v.setUint16(2, channels, true);
  v.setUint32(4, rate, true);
  v.setUint32(8, rate * align, true);
  v.setUint16(12, align, true);
  v.setUint16(14, bits, true);
  if (extensibleFormat !== undefined) {
    v.setUint16(16, 22, true);
    v.setUint16(18, bits, true);
    v.setUint16(24, extensibleFormat, true); // first bytes of the sub-format GUID
  }
  return body;
}
