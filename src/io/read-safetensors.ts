// A safetensors file named by a user (a checkpoint for the CLI or loadRecognizer in Node): a regular file only
// (./regular-file.ts), refused from its first 8 bytes where they declare a header that decodeSafetensors refuses
// (declaredHeaderLength), before the rest is read: a file with a 99 MB header had been read whole first, and a
// file of gigabytes that is no checkpoint at all would be. Browser-safe: node:fs is imported only when called.

import { openRegularFile, readStart } from './regular-file.js';
import { declaredHeaderLength } from './safetensors.js';

/** The file's bytes. A failure to read goes to `cannot` (the caller's wording); a refused header length is thrown
 * as declaredHeaderLength words it, naming `name`. */
export async function readSafetensorsFile(path: string | URL, name: string, cannot: (error: unknown) => never): Promise<Uint8Array> {
  const { handle, size } = await openRegularFile(path).catch(cannot);
  try {
    declaredHeaderLength(await readStart(handle, Math.min(8, size)).catch(cannot), size, name);
    return await readStart(handle, size).catch(cannot);
  } finally {
    await handle.close();
  }
}
