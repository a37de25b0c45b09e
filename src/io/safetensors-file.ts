// Safetensors files on disk: written atomically, read with the path named in every error. The format itself
// lives in ./safetensors.ts (browser-usable). Node-only.

import { writeFileAtomic } from './atomic-write.js';
import { readSafetensorsFile } from './read-safetensors.js';
import { decodeSafetensors, encodeSafetensors, type DecodedSafetensors, type NamedTensor } from './safetensors.js';

export async function saveCheckpoint(path: string, tensors: Record<string, NamedTensor>, metadata: Record<string, string>): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** A checkpoint file's bytes, every error naming the path (./read-safetensors.ts). */
export async function readCheckpointFile(path: string): Promise<Uint8Array> {
  return readSafetensorsFile(path, path, (error) => {
    throw new Error(`${path}: cannot read checkpoint (${(error as Error).message})`, { cause: error });
  });
}

export async function loadCheckpoint(path: string): Promise<DecodedSafetensors> {
  return decodeSafetensors(await readCheckpointFile(path), path);
}
