// Checkpoints: safetensors encode/decode against the spec, corrupt-input refusal, metadata, and
// crash safety of the atomic file write (including a writer killed mid-write).

import { spawn, spawnSync } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../src/io/safetensors.js';
import { tempPathFor, writeDurably, writeFileAtomic } from '../src/io/atomic-write.js';
import { loadCheckpoint, saveCheckpoint } from '../src/io/safetensors-file.js';
import { tempDirForTests } from './temp-dir.js';
import { titleNeeding } from './skip.js';

function tensor(shape: number[], fill: (i: number) => number = (i) => i * 0.5 - 3): NamedTensor {
  const count = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float32Array.from({ length: count }, (_, i) => fill(i)) };
}

const sample: Record<string, NamedTensor> = {
  'conv1.weight': tensor([4, 1, 3]),
  'conv1.bias': tensor([4]),
  'head.emotion.weight': tensor([7, 5, 1, 1], (i) => Math.sin(i)),
  scale: tensor([]),
  empty: tensor([0, 3]),
  odd: tensor([3, 5, 7], (i) => (i % 2 ? -1 : 1) * 1e-30 * i),
};

const metadata = {
  config: JSON.stringify({ channels: [16, 32], sampleRate: 16000 }),
  classes: JSON.stringify(['anger', 'boredom', 'disgust', 'fear', 'happiness', 'neutral', 'sadness']),
  state: JSON.stringify({ epoch: 12, step: 3456, bestValidationUA: 0.713, seed: 42 }),
  note: 'unicode ✓ "quotes" and \\ backslash',
};

/** Builds a safetensors file from a raw header, as another writer might. */
function rawFile(header: unknown, data: Uint8Array, headerLength?: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors encode/decode', () => {
  it('round-trips tensors of odd shapes, scalars and empty tensors bit-exactly', () => {
    const decoded = decodeSafetensors(encodeSafetensors(sample, metadata));
    expect(Object.keys(decoded.tensors).sort()).toEqual(Object.keys(sample).sort());
    for (const [name, t] of Object.entries(sample)) {
      expect(decoded.tensors[name].shape).toEqual(t.shape);
      expect(Array.from(decoded.tensors[name].data)).toEqual(Array.from(t.data));
    }
    expect(decoded.tensors.scale.data.length).toBe(1);
    expect(decoded.metadata).toEqual(metadata);
  });

  it('keeps NaN, infinities and negative zero', () => {
    const special = { x: { shape: [4], data: new Float32Array([NaN, Infinity, -Infinity, -0]) } };
    const { data } = decodeSafetensors(encodeSafetensors(special)).tensors.x;
    expect(Number.isNaN(data[0])).toBe(true);
    expect([data[1], data[2], Object.is(data[3], -0)]).toEqual([Infinity, -Infinity, true]);
  });

  it('encodes tensors from a view into a larger buffer correctly', () => {
    const backing = new Float32Array([9, 9, 1, 2, 3, 9]);
    const bytes = encodeSafetensors({ v: { shape: [3], data: backing.subarray(2, 5) } });
    expect(Array.from(decodeSafetensors(bytes).tensors.v.data)).toEqual([1, 2, 3]);
  });

  it('lays out bytes as the spec says: u64 LE length, space-padded 8-aligned JSON, contiguous data', () => {
    const bytes = encodeSafetensors(sample, metadata);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const headerLength = Number(view.getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    expect(headerText.startsWith('{')).toBe(true);
    expect(headerText.trimEnd().endsWith('}')).toBe(true);
    expect(/^ *$/.test(headerText.slice(headerText.trimEnd().length))).toBe(true);
    const header = JSON.parse(headerText);
    expect(header.__metadata__).toEqual(metadata);

    const entries = Object.entries(header)
      .filter(([name]) => name !== '__metadata__')
      .map(([name, e]) => ({ name, ...(e as { dtype: string; shape: number[]; data_offsets: [number, number] }) }))
      .sort((a, b) => a.data_offsets[0] - b.data_offsets[0]);
    let expected = 0;
    for (const e of entries) {
      expect(e.dtype).toBe('F32');
      expect(e.shape).toEqual(sample[e.name].shape);
      expect(e.data_offsets[0]).toBe(expected);
      expect(e.data_offsets[1] - e.data_offsets[0]).toBe(sample[e.name].data.length * 4);
      // The raw data is little-endian float32.
      const first = e.data_offsets[0] + 8 + headerLength;
      if (sample[e.name].data.length > 0) expect(view.getFloat32(first, true)).toBe(sample[e.name].data[0]);
      expected = e.data_offsets[1];
    }
    expect(8 + headerLength + expected).toBe(bytes.length);
  });

  it('is deterministic whatever the insertion order, and omits empty metadata', () => {
    const reversed = Object.fromEntries(Object.entries(sample).reverse());
    expect(encodeSafetensors(reversed, metadata)).toEqual(encodeSafetensors(sample, metadata));
    const bare = encodeSafetensors({ a: tensor([2]) });
    expect(new TextDecoder().decode(bare).includes('__metadata__')).toBe(false);
  });

  it('reads files from other writers: unpadded header, any tensor order in the JSON', () => {
    const data = new Uint8Array(new Float32Array([1, 2, 3, 4, 5]).buffer);
    const file = rawFile({ b: { dtype: 'F32', shape: [3], data_offsets: [8, 20] }, a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, data);
    const { tensors, metadata: meta } = decodeSafetensors(file);
    expect(Array.from(tensors.a.data)).toEqual([1, 2]);
    expect(Array.from(tensors.b.data)).toEqual([3, 4, 5]);
    expect(meta).toEqual({});
  });

  it('keeps a tensor or metadata key named __proto__, as other writers may use any name', () => {
    // Assigned into a plain object, "__proto__" set its prototype instead: the tensor vanished from what decode
    // returned, and encode wrote its bytes without its header entry.
    const data = new Uint8Array(new Float32Array([1, 2]).buffer);
    const file = rawFile(JSON.parse('{"__proto__": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "__metadata__": {"__proto__": "m"}}'), data);
    const decoded = decodeSafetensors(file);
    expect(Object.keys(decoded.tensors)).toEqual(['__proto__']);
    expect(Array.from(decoded.tensors['__proto__'].data)).toEqual([1, 2]);
    expect(Object.getPrototypeOf(decoded.tensors)).toBe(Object.prototype);
    expect(Object.entries(decoded.metadata)).toEqual([['__proto__', 'm']]);
    const again = decodeSafetensors(encodeSafetensors(decoded.tensors, decoded.metadata));
    expect(Array.from(again.tensors['__proto__'].data)).toEqual([1, 2]);
    expect(Object.entries(again.metadata)).toEqual([['__proto__', 'm']]);
  });

  it('refuses invalid inputs to encode', () => {
    expect(() => encodeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } })).toThrow(/"w".*4 elements.*3 values/);
    expect(() => encodeSafetensors({ w: { shape: [-1], data: new Float32Array(0) } })).toThrow(/"w".*invalid shape/);
    expect(() => encodeSafetensors({ __metadata__: tensor([1]) })).toThrow(/invalid tensor name/);
    expect(() => encodeSafetensors({}, { epoch: 3 as unknown as string })).toThrow(/metadata "epoch" must be a string/);
  });

  describe('refuses corrupt files with errors naming the source and tensor', () => {
    const good = encodeSafetensors(sample, metadata);
    const oneTensor = (entry: unknown, data = new Uint8Array(8)) => rawFile({ w: entry }, data);

    it('truncated', () => {
      expect(() => decodeSafetensors(good.subarray(0, 5), 'ckpt.safetensors')).toThrow(/^ckpt\.safetensors: truncated: 5 bytes/);
      expect(() => decodeSafetensors(good.subarray(0, 40), 'ckpt.safetensors')).toThrow(/ckpt\.safetensors: header length \d+ exceeds the 32 bytes/);
      expect(() => decodeSafetensors(good.subarray(0, good.length - 4), 'ckpt.safetensors')).toThrow(/ckpt\.safetensors: tensor "\S+" data_offsets .* run past the end/);
    });

    it('absurd header length', () => {
      const bytes = good.slice();
      new DataView(bytes.buffer).setBigUint64(0, 2n ** 63n, true);
      expect(() => decodeSafetensors(bytes)).toThrow(/header length 9223372036854775808 exceeds/);
    });

    it('bad JSON', () => {
      const bytes = good.slice();
      bytes[8] = 0x5b; // '[' instead of '{'
      expect(() => decodeSafetensors(bytes, 'x.st')).toThrow(/x\.st: header is not valid UTF-8 JSON/);
      expect(() => decodeSafetensors(rawFile([1, 2], new Uint8Array()))).toThrow(/header must be a JSON object/);
    });

    it('unsupported dtype', () => {
      expect(() => decodeSafetensors(oneTensor({ dtype: 'F16', shape: [4], data_offsets: [0, 8] }), 'm.st')).toThrow(
        'm.st: tensor "w" has dtype "F16"; only F32 is supported',
      );
    });

    it('offsets past the end, inconsistent with the shape, overlapping or leaving gaps', () => {
      expect(() => decodeSafetensors(oneTensor({ dtype: 'F32', shape: [4], data_offsets: [0, 16] }))).toThrow(/"w" data_offsets \[0, 16\] run past the end of the 8-byte data section/);
      expect(() => decodeSafetensors(oneTensor({ dtype: 'F32', shape: [3], data_offsets: [0, 8] }))).toThrow(/"w" .* span 8 bytes but shape \[3\] needs 12/);
      expect(() => decodeSafetensors(oneTensor({ dtype: 'F32', shape: [2], data_offsets: [8, 0] }))).toThrow(/"w" has invalid data_offsets/);
      expect(() => decodeSafetensors(oneTensor({ dtype: 'F32', shape: [1], data_offsets: [4, 8] }))).toThrow(/"w" starts at byte 4, expected 0/);
      expect(() => decodeSafetensors(oneTensor({ dtype: 'F32', shape: [1], data_offsets: [0, 4] }))).toThrow(/data section has 8 bytes but the tensors cover 4/);
      const overlapping = rawFile(
        { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } },
        new Uint8Array(8),
      );
      expect(() => decodeSafetensors(overlapping)).toThrow(/"b" starts at byte 4, expected 8/);
    });

    it('bad shape or metadata', () => {
      expect(() => decodeSafetensors(oneTensor({ dtype: 'F32', shape: [2.5], data_offsets: [0, 8] }))).toThrow(/"w" has an invalid shape/);
      expect(() => decodeSafetensors(rawFile({ __metadata__: { epoch: 3 } }, new Uint8Array()))).toThrow(/metadata "epoch" must be a string/);
    });
  });
});

describe('checkpoint files', () => {
  const dir = tempDirForTests('ser-ckpt-');

  it('saves and loads, leaving no temp files', async () => {
    const path = join(dir(), 'model.safetensors');
    await saveCheckpoint(path, sample, metadata);
    await saveCheckpoint(path, { ...sample, scale: tensor([], () => 7) }, metadata);
    const loaded = await loadCheckpoint(path);
    expect(loaded.metadata).toEqual(metadata);
    expect(loaded.tensors.scale.data[0]).toBe(7);
    expect((await readdir(dir())).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('names the path in load errors', async () => {
    const missing = join(dir(), 'missing.safetensors');
    await expect(loadCheckpoint(missing)).rejects.toThrow(`${missing}: cannot read checkpoint`);
    const corrupt = join(dir(), 'corrupt.safetensors');
    await writeFile(corrupt, encodeSafetensors(sample).subarray(0, 100));
    await expect(loadCheckpoint(corrupt)).rejects.toThrow(new RegExp(`^${corrupt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
  });

  it('cleans up and names the path when the write fails', async () => {
    const target = join(dir(), 'no-such-dir', 'model.safetensors');
    await expect(writeFileAtomic(target, new Uint8Array(4))).rejects.toThrow(`writing ${target} failed`);
  });

  it('an interrupted temp-file write leaves the old checkpoint intact', async () => {
    const path = join(dir(), 'interrupted.safetensors');
    await saveCheckpoint(path, sample, { state: '{"epoch":1}' });
    // The crash happens after part of the new file reached the temp path and before the rename.
    const next = encodeSafetensors({ ...sample, scale: tensor([], () => 99) }, { state: '{"epoch":2}' });
    const temp = tempPathFor(path);
    await writeDurably(temp, next.subarray(0, next.length >> 1));
    expect(() => decodeSafetensors(next.subarray(0, next.length >> 1))).toThrow();
    const loaded = await loadCheckpoint(path);
    expect(loaded.metadata.state).toBe('{"epoch":1}');
    expect(loaded.tensors.scale.data[0]).toBe(sample.scale.data[0]);
    // A later successful save is unaffected by the stale temp file.
    await writeFileAtomic(path, next);
    expect((await loadCheckpoint(path)).metadata.state).toBe('{"epoch":2}');
  });

  it('a writer killed mid-write (SIGKILL) never leaves a half-written checkpoint', async () => {
    const child = join(dir(), 'writer.mjs');
    const entry = join(dir(), 'writer-entry.ts');
    await writeFile(
      entry,
      `import { saveCheckpoint } from ${JSON.stringify(resolve('src/io/safetensors-file.ts'))};
const [path, firstVersion] = [process.argv[2], Number(process.argv[3])];
const count = 8 * 1024 * 1024; // 32 MB: long enough to be killed inside a write
for (let version = firstVersion; ; version++) {
  const data = new Float32Array(count).fill(version);
  process.stdout.write('begin ' + version + '\\n');
  await saveCheckpoint(path, { w: { shape: [count], data } }, { state: JSON.stringify({ version }) });
}
`,
    );
    await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', outfile: child, logLevel: 'silent' });

    const path = join(dir(), 'killed.safetensors');
    const tempFiles = async () => (await readdir(dir())).filter((f) => f.startsWith('killed.safetensors.tmp-'));
    let version = 0;
    let killedWithTempOnDisk = 0;
    for (let round = 0; round < 5; round++) {
      const writer = spawn(process.execPath, [child, path, String(version + 1)], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<string | null>((r) => writer.on('exit', (_code, signal) => r(signal)));
      const outputClosed = new Promise((r) => writer.stdout.on('close', r));
      let begun: number[] = [];
      writer.stdout.on('data', (chunk: Buffer) => {
        begun = [...`${chunk}`.matchAll(/begin (\d+)/g)].map((m) => Number(m[1])).concat(begun).sort((a, b) => a - b);
      });
      // Once the second write of this round has begun (so the first has committed), kill the
      // writer the moment its temp file appears: between creating the temp file and the rename.
      const leftoverBefore = (await tempFiles()).length;
      while (begun.length < 2 || (await tempFiles()).length === leftoverBefore) {
        if (writer.exitCode !== null) throw new Error('writer exited early');
        await new Promise((r) => setTimeout(r, 0.2));
      }
      writer.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      await outputClosed;
      const killedDuring = begun[begun.length - 1];
      if ((await tempFiles()).length > leftoverBefore) killedWithTempOnDisk++;

      const loaded = await loadCheckpoint(path);
      const saved = JSON.parse(loaded.metadata.state).version as number;
      // Either the interrupted write had not been renamed yet, or it had completed.
      expect([killedDuring - 1, killedDuring]).toContain(saved);
      expect(loaded.tensors.w.data.length).toBe(8 * 1024 * 1024);
      expect(loaded.tensors.w.data.every((v) => v === saved)).toBe(true);
      version = killedDuring;
    }
    // At least one kill must really have landed inside a write for the test to mean anything.
    expect(killedWithTempOnDisk).toBeGreaterThan(0);
  });
});

const python = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0 ? 'python3' : null;
const pythonSafetensors = python !== null && spawnSync('python3', ['-c', 'import safetensors.numpy'], { encoding: 'utf8' }).status === 0;

describe('interoperability with Python readers', () => {
  const dir = tempDirForTests('ser-ckpt-py-');

  it.skipIf(python === null)(titleNeeding(python, 'an independent Python reader (struct + json + numpy) gets the same tensors', 'no python3 with numpy'), async () => {
    const path = join(dir(), 'py.safetensors');
    await saveCheckpoint(path, sample, metadata);
    const script = `
import json, struct, sys, numpy as np
raw = open(sys.argv[1], 'rb').read()
(n,) = struct.unpack('<Q', raw[:8])
header = json.loads(raw[8:8 + n])
meta = header.pop('__metadata__')
out = {'meta': meta, 'tensors': {}}
for name, e in header.items():
    b, end = e['data_offsets']
    arr = np.frombuffer(raw[8 + n + b: 8 + n + end], dtype='<f4').reshape(e['shape'])
    out['tensors'][name] = {'shape': list(arr.shape), 'sum': float(arr.astype(np.float64).sum())}
print(json.dumps(out))
`;
    const result = spawnSync('python3', ['-c', script, path], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    const parsed = JSON.parse(result.stdout);
    expect(parsed.meta).toEqual(metadata);
    for (const [name, t] of Object.entries(sample)) {
      expect(parsed.tensors[name].shape).toEqual(t.shape);
      expect(parsed.tensors[name].sum).toBeCloseTo(t.data.reduce((a, b) => a + b, 0), 4);
    }
  });

  it.skipIf(!pythonSafetensors)(titleNeeding(pythonSafetensors, 'the reference safetensors library loads our file, and we load its file', "no Python package 'safetensors'"), async () => {
    const ours = join(dir(), 'ours.safetensors');
    const theirs = join(dir(), 'theirs.safetensors');
    await saveCheckpoint(ours, sample, metadata);
    const script = `
import json, sys, numpy as np
from safetensors.numpy import load_file, save_file
from safetensors import safe_open
t = load_file(sys.argv[1])
with safe_open(sys.argv[1], 'np') as f: meta = f.metadata()
save_file({'a': np.arange(6, dtype=np.float32).reshape(2, 3)}, sys.argv[2], metadata={'k': 'v'})
print(json.dumps({'meta': meta, 'shapes': {k: list(v.shape) for k, v in t.items()}}))
`;
    const result = spawnSync('python3', ['-c', script, ours, theirs], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    const parsed = JSON.parse(result.stdout);
    expect(parsed.meta).toEqual(metadata);
    for (const [name, t] of Object.entries(sample)) expect(parsed.shapes[name]).toEqual(t.shape);
    const loaded = await loadCheckpoint(theirs);
    expect(Array.from(loaded.tensors.a.data)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(loaded.metadata).toEqual({ k: 'v' });
  });
});
