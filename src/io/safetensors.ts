// Checkpoint (de)serialisation in the safetensors format, so that PyTorch users can read our
// weights with `safetensors.torch.load_file`. Browser-usable: bytes in, bytes out, no file I/O
// (files are written by ./safetensors-file.ts).
//
// Layout: u64 little-endian header length N | N bytes of UTF-8 JSON header, space-padded to a
// multiple of 8 | raw little-endian tensor data. Header entries are
//   "<name>": { "dtype": "F32", "shape": [...], "data_offsets": [begin, end] }
// plus an optional "__metadata__": { string: string }, with offsets relative to the data section.

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

export interface DecodedSafetensors {
  tensors: Record<string, NamedTensor>;
  metadata: Record<string, string>;
}

const METADATA_KEY = '__metadata__';
const HEADER_ALIGNMENT = 8;
const F32_BYTES = 4;
// The format's own bound: the reference implementation refuses headers above 100 MB (its MAX_HEADER_SIZE).
const FORMAT_MAX_HEADER_BYTES = 100_000_000;

/**
 * This reader's bound on the header, far below the format's, because a header costs far more to parse than its
 * bytes: within the format's 100 MB, a 96 MB header of 1.5 M empty tensors took 25 s and 2.8 GB to load, one
 * shape of 49 M dimensions 4 s and 1.4 GB (JSON.parse's objects, then the checks over them). The largest header
 * ser-webgpu writes is about 250 kB (64 blocks: 587 tensors, and in a training checkpoint 1,501 more for Adam's
 * moments and the best weights; 64 class names of 100 characters, written twice) and 185 bytes more per epoch of
 * the training history; a PyTorch file of 10,000 tensors has 1 to 1.5 MB. 8 MiB holds either several times over
 * (44,000 epochs of history at the largest configuration), and the worst header within it, 8 MiB of empty tensors,
 * loads in about a second and 200 MB. The writer refuses to pass it, so every file written here reads back.
 */
export const MAX_HEADER_BYTES = 8 * 2 ** 20;

const hostIsLittleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * A value read from a header (a tensor or metadata name, a shape, any JSON) as text for an error message: its JSON,
 * cut to about `max` characters. JSON.stringify alone overflowed the stack on a deeply nested value (`[[[…]]]` as
 * a shape: a RangeError instead of an error naming the file) and copied a value of megabytes (a name, a shape of
 * millions of entries) whole into the message. This reads only what it prints, at most 8 levels deep.
 */
export function excerpt(value: unknown, max = 60): string {
  let text = '';
  const add = (v: unknown, depth: number): void => {
    if (text.length > max) return;
    if (typeof v === 'string') text += JSON.stringify(v.length > max ? v.slice(0, max) : v);
    else if (v === null || typeof v !== 'object') text += String(v);
    else if (depth >= 8) text += Array.isArray(v) ? '[...]' : '{...}';
    else if (Array.isArray(v)) {
      text += '[';
      for (let i = 0; i < v.length && text.length <= max; i++) {
        if (i > 0) text += ',';
        add(v[i], depth + 1);
      }
      text += ']';
    } else {
      text += '{';
      let first = true;
      for (const key of Object.keys(v)) {
        if (text.length > max) break;
        text += `${first ? '' : ','}${JSON.stringify(key.length > max ? key.slice(0, max) : key)}:`;
        first = false;
        add((v as Record<string, unknown>)[key], depth + 1);
      }
      text += '}';
    }
  };
  add(value, 0);
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

function elementCount(shape: number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}

/** An own, enumerable property: assigned, a key "__proto__" (a legal tensor or metadata name) set the object's
 * prototype instead, so the entry vanished. */
function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

function isValidShape(shape: unknown): shape is number[] {
  return Array.isArray(shape) && shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0);
}

/** Serialises float32 tensors (sorted by name, for byte-identical output) and string metadata. */
export function encodeSafetensors(tensors: Record<string, NamedTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw new Error(`safetensors: metadata "${key}" must be a string (JSON-encode structured values)`);
    }
    header[METADATA_KEY] = metadata;
  }

  let dataBytes = 0;
  for (const name of names) {
    if (name === '' || name === METADATA_KEY) throw new Error(`safetensors: invalid tensor name "${name}"`);
    const { shape, data } = tensors[name];
    if (!isValidShape(shape)) throw new Error(`safetensors: tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
    if (!(data instanceof Float32Array)) throw new Error(`safetensors: tensor "${name}" data must be a Float32Array`);
    if (elementCount(shape) !== data.length) {
      throw new Error(`safetensors: tensor "${name}" has shape [${shape.join(', ')}] (${elementCount(shape)} elements) but ${data.length} values`);
    }
    const byteLength = data.length * F32_BYTES;
    setOwn(header, name, { dtype: 'F32', shape, data_offsets: [dataBytes, dataBytes + byteLength] });
    dataBytes += byteLength;
  }

  const json = new TextEncoder().encode(JSON.stringify(header));
  // Padding keeps the data section 8-byte aligned, so readers can map tensors without copying.
  const headerLength = Math.ceil(json.length / HEADER_ALIGNMENT) * HEADER_ALIGNMENT;
  if (headerLength > MAX_HEADER_BYTES) {
    const largest = Object.entries(metadata).reduce((a, b) => (b[1].length > a[1].length ? b : a), ['', '']);
    throw new Error(
      `safetensors: refusing to write a header of ${headerLength} bytes, past the ${MAX_HEADER_BYTES} that decodeSafetensors reads ` +
        `(${names.length} tensors${largest[0] ? `; the longest metadata value, ${excerpt(largest[0])}, has ${largest[1].length} characters` : ''})`,
    );
  }
  const out = new Uint8Array(8 + headerLength + dataBytes);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);

  let position = 8 + headerLength;
  for (const name of names) {
    const { data } = tensors[name];
    if (hostIsLittleEndian) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
    } else {
      for (let i = 0; i < data.length; i++) view.setFloat32(position + i * F32_BYTES, data[i], true);
    }
    position += data.byteLength;
  }
  return out;
}

interface HeaderEntry {
  name: string;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * The header length that a file's first 8 bytes (`head`) declare, a little-endian u64, checked against the file's
 * length (`fileBytes`) and the bounds before anything else is read or parsed. Throws `${source}: ...`.
 */
export function declaredHeaderLength(head: Uint8Array, fileBytes: number, source = 'safetensors'): number {
  const fail = (message: string): never => {
    throw new Error(`${source}: ${message}`);
  };
  if (head.length < 8 || fileBytes < 8) fail(`truncated: ${Math.min(head.length, fileBytes)} bytes, need at least 8 for the header length`);
  const declared = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  const available = fileBytes - 8;
  if (declared > BigInt(FORMAT_MAX_HEADER_BYTES)) {
    fail(`header length ${declared} exceeds the safetensors format's limit of ${FORMAT_MAX_HEADER_BYTES} bytes (not a safetensors file, or a damaged one)`);
  }
  if (declared > BigInt(available)) {
    fail(`header length ${declared} exceeds the ${available} bytes after the length field (truncated or not a safetensors file)`);
  }
  if (declared > BigInt(MAX_HEADER_BYTES)) {
    fail(`header length ${declared} exceeds the ${MAX_HEADER_BYTES} bytes (${MAX_HEADER_BYTES / 2 ** 20} MiB) this reader accepts; ser-webgpu's own checkpoints have headers of a few hundred kB`);
  }
  return Number(declared);
}

/**
 * Parses and validates a safetensors buffer holding F32 tensors. `source` (e.g. a file path)
 * prefixes every error message. Returned tensors own their data (copied out of `bytes`).
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors'): DecodedSafetensors {
  const fail = (message: string): never => {
    throw new Error(`${source}: ${message}`);
  };
  const headerLength = declaredHeaderLength(bytes, bytes.length, source);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (error) {
    fail(`header is not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header must be a JSON object');
  const headerObject = header as Record<string, unknown>;

  const metadata = parseMetadata(headerObject[METADATA_KEY], fail);
  const entries: HeaderEntry[] = [];
  for (const [name, raw] of Object.entries(headerObject)) {
    if (name !== METADATA_KEY) entries.push(parseEntry(name, raw, fail));
  }

  // Like the reference reader, require the tensors to tile the data section exactly:
  // overlaps, holes or trailing bytes all indicate a damaged file.
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expectedBegin = 0;
  for (const entry of entries) {
    if (entry.end > dataLength) {
      fail(`tensor ${excerpt(entry.name)} data_offsets [${entry.begin}, ${entry.end}] run past the end of the ${dataLength}-byte data section (truncated file?)`);
    }
    if (entry.begin !== expectedBegin) {
      fail(`tensor ${excerpt(entry.name)} starts at byte ${entry.begin}, expected ${expectedBegin} (tensors must be contiguous, without gaps or overlaps)`);
    }
    expectedBegin = entry.end;
  }
  if (expectedBegin !== dataLength) fail(`data section has ${dataLength} bytes but the tensors cover ${expectedBegin}`);

  const tensors: Record<string, NamedTensor> = {};
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const count = (entry.end - entry.begin) / F32_BYTES;
    const data = new Float32Array(count);
    const offset = dataStart + entry.begin;
    if (hostIsLittleEndian) {
      new Uint8Array(data.buffer).set(bytes.subarray(offset, offset + count * F32_BYTES));
    } else {
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(offset + i * F32_BYTES, true);
    }
    setOwn(tensors, entry.name, { shape: entry.shape, data });
  }
  return { tensors, metadata };
}

function parseMetadata(raw: unknown, fail: (message: string) => never): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) fail(`"${METADATA_KEY}" must be an object of strings`);
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof value !== 'string') fail(`metadata ${excerpt(key)} must be a string, got ${typeof value}`);
    setOwn(metadata, key, value as string);
  }
  return metadata;
}

function parseEntry(name: string, raw: unknown, fail: (message: string) => never): HeaderEntry {
  // The tensor's name for a message, written only for one: a header may hold many thousands of entries.
  const tensor = () => `tensor ${excerpt(name)}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(`${tensor()} header entry must be an object`);
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (dtype !== 'F32') fail(`${tensor()} has dtype ${excerpt(dtype)}; only F32 is supported`);
  if (!isValidShape(shape)) fail(`${tensor()} has an invalid shape ${excerpt(shape)}`);
  const validOffsets =
    Array.isArray(offsets) && offsets.length === 2 && offsets.every((o) => Number.isSafeInteger(o) && o >= 0) && offsets[0] <= offsets[1];
  if (!validOffsets) fail(`${tensor()} has invalid data_offsets ${excerpt(offsets)}`);
  const [begin, end] = offsets as [number, number];
  const expectedBytes = elementCount(shape as number[]) * F32_BYTES;
  if (end - begin !== expectedBytes) {
    fail(`${tensor()} data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape ${excerpt(shape)} needs ${expectedBytes}`);
  }
  return { name, shape: shape as number[], begin, end };
}
