// Safetensors files on disk: written atomically, read with the path named in every error. The format itself
// lives in ./safetensors.ts (browser-usable). Node-only.

import { readFile, stat } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-write.js';
import { decodeSafetensors, encodeSafetensors, type DecodedSafetensors, type NamedTensor } from './safetensors.js';

export async function saveCheckpoint(path: string, tensors: Record<string, NamedTensor>, metadata: Record<string, string>): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** A checkpoint file's bytes, every error naming the path. Only a regular file is read: Node's readFile of a
 * directory said EISDIR without naming it, and read a device such as /dev/zero until memory ran out. */
export async function readCheckpointFile(path: string): Promise<Uint8Array> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error(info.isDirectory() ? 'a directory, not a file' : 'not a regular file');
    return new Uint8Array(await readFile(path));
  } catch (error) {
    throw new Error(`${path}: cannot read checkpoint (${(error as Error).message})`, { cause: error });
  }
}

export async function loadCheckpoint(path: string): Promise<DecodedSafetensors> {
  return decodeSafetensors(await readCheckpointFile(path), path);
}
