// Safetensors files on disk: written atomically, read with the path named in every error. The format itself
// lives in ./safetensors.ts (browser-usable). Node-only.

import { writeFileAtomic } from './atomic-write.js';
import { openRegularFile, readStart } from './regular-file.js';
import { declaredHeaderLength, decodeSafetensors, encodeSafetensors, type DecodedSafetensors, type NamedTensor } from './safetensors.js';

export async function saveCheckpoint(path: string, tensors: Record<string, NamedTensor>, metadata: Record<string, string>): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/**
 * A checkpoint file's bytes, every error naming the path; only a regular file is read (./regular-file.ts), and one
 * whose first 8 bytes declare a header that decodeSafetensors refuses (declaredHeaderLength) is refused before the
 * rest is read: a file with a 99 MB header had been read whole first.
 */
export async function readCheckpointFile(path: string): Promise<Uint8Array> {
  const cannot = (error: unknown): never => {
    throw new Error(`${path}: cannot read checkpoint (${(error as Error).message})`, { cause: error });
  };
  const { handle, size } = await openRegularFile(path).catch(cannot);
  try {
    declaredHeaderLength(await readStart(handle, Math.min(8, size)).catch(cannot), size, path);
    return await readStart(handle, size).catch(cannot);
  } finally {
    await handle.close();
  }
}

export async function loadCheckpoint(path: string): Promise<DecodedSafetensors> {
  return decodeSafetensors(await readCheckpointFile(path), path);
}
