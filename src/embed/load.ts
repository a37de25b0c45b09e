// Loading for the embedding API: the engine started once (the backend asked for, else the one running, else
// WebGPU), and the bytes of a checkpoint or a WAV from a URL, a File/Blob, bytes or (in Node) a file path.

import { engine, init } from '../engine/context.js';
import { inNode } from '../gpu/device.js';
import { readSafetensorsFile } from '../io/read-safetensors.js';
import { describeValue } from '../model/recognizer.js';
import type { CheckpointSource, LoadOptions, WavSource } from './types.js';

export async function ensureEngine(backend: LoadOptions['backend']): Promise<void> {
  if (backend) {
    await init({ backend });
    return;
  }
  let running;
  try {
    running = engine();
  } catch {
    await init();
    return;
  }
  // A WebGPU engine: init() gives the same device while it lives, and a new one once it is lost (a recogniser
  // loaded after a driver reset had gone onto the lost device, and every use of it threw).
  if (running.runtime) await init();
}

export function isBlob(x: unknown): x is Blob {
  return typeof Blob !== 'undefined' && x instanceof Blob;
}

export async function bytesOf(x: WavSource): Promise<Uint8Array> {
  if (isBlob(x)) return new Uint8Array(await x.arrayBuffer());
  if (x instanceof ArrayBuffer) return new Uint8Array(x);
  if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  // Read as a view, a path or a SharedArrayBuffer had been "an empty file (0 bytes)".
  throw new TypeError(`classifyWav: the WAV must be a Blob, an ArrayBuffer or an ArrayBufferView of its bytes, not ${described(x)}`);
}

function described(x: unknown): string {
  if (typeof x === 'string') return `the string ${JSON.stringify(x.length > 80 ? `${x.slice(0, 80)}…` : x)} (a path must be read first, e.g. with readFile from node:fs/promises)`;
  return describeValue(x);
}

export async function checkpointBytes(source: CheckpointSource): Promise<{ bytes: Uint8Array; name: string }> {
  if (isBlob(source)) return { bytes: await bytesOf(source), name: 'name' in source ? String(source.name) : 'checkpoint' };
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return { bytes: await bytesOf(source), name: 'checkpoint' };
  const text = String(source);
  // Named, as every other failure to load is: EISDIR ("illegal operation on a directory, read") and fetch's
  // "fetch failed" (a refused connection, a bad host) said nothing of which checkpoint.
  const cannot = (e: unknown): never => {
    throw new Error(`${text}: cannot load the checkpoint (${(e as Error).message})`, { cause: e });
  };
  // In Node a plain string is a path (file: URLs too); everything else, and every string in a page, is fetched.
  if (inNode && !/^(https?|data|blob):/i.test(text)) {
    // A regular file only: a folder had been a bare EISDIR, and /dev/zero was read until memory ran out; and one
    // whose first bytes are no safetensors header is not read whole first.
    const path = text.startsWith('file:') ? new URL(text) : text;
    return { bytes: await readSafetensorsFile(path, text, cannot), name: text };
  }
  const response = await fetch(source).catch(cannot);
  if (!response.ok) throw new Error(`${text}: cannot load the checkpoint (HTTP ${response.status} ${response.statusText})`);
  return { bytes: new Uint8Array(await response.arrayBuffer().catch(cannot)), name: text };
}
