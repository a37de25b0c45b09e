// Safetensors files on disk: written atomically, read with the path named in every error. The format itself
// lives in ./safetensors.ts (browser-usable). Node-only.

import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-write.js';
import { decodeSafetensors, encodeSafetensors, type DecodedSafetensors, type NamedTensor } from './safetensors.js';

export async function saveCheckpoint(path: string, tensors: Record<string, NamedTensor>, metadata: Record<string, string>): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export async function loadCheckpoint(path: string): Promise<DecodedSafetensors> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new Error(`${path}: cannot read checkpoint (${(error as Error).message})`, { cause: error });
  }
  return decodeSafetensors(bytes, path);
}
