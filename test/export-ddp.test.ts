// The way out and back: a model exported with `ser export --format pytorch` trains for one epoch under torchrun
// (2 CPU processes, gloo, DistributedDataParallel) on the synthetic corpus as our readers load it, and the
// checkpoint it writes loads in the engine as it is and gives the same probabilities as in PyTorch.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { init } from '../src/engine/context.js';
import { compactModelConfig, withGenderDesign } from '../src/model/config.js';
import { decodeModel, encodeModel } from '../src/model/model-file.js';
import { classify } from '../src/model/recognizer.js';
import { SerModel } from '../src/model/ser-model.js';
import { exportPyTorch } from '../src/export/pytorch.js';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { generateSyntheticCorpus } from '../src/train/synthetic.js';
import { PYTHON, relL2, runPython, torchMissing } from './torch.js';

const PARITY = new URL('python/torch_parity.py', import.meta.url).pathname;
const noTorch = torchMissing();
/** One epoch takes a few seconds; a hang ends here, within the test's own 120 s (vitest.config.ts). */
const TORCHRUN_SECONDS = 90;

/** A TCP port nobody listens on now, for torchrun's rendezvous (its --standalone default is a fixed 29400). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

describe('export to PyTorch: torchrun round trip', () => {
  it('2 gloo processes train one epoch from exported weights; the checkpoint predicts the same in Node and PyTorch', async (ctx) => {
    if (noTorch) {
      console.warn(`skipped: ${noTorch}`);
      ctx.skip(noTorch);
    }
    await init({ backend: 'cpu' });
    const corpus = generateSyntheticCorpus({ speakers: 4, utterancesPerEmotion: 2, seed: 3 });
    const config = withGenderDesign(compactModelConfig(corpus.classes), 'concat');
    const start = new SerModel(config, 2);
    const dir = mkdtempSync(join(tmpdir(), 'ser-ddp-'));
    await exportPyTorch(await encodeModel(start), 'start', dir, corpus);
    const before = await start.stateDict();
    start.dispose();

    const trained = join(dir, 'trained.safetensors');
    const args = [join(dir, 'torchrun_compat.py'), '--nnodes', '1', '--nproc_per_node', '2', '--master_addr', '127.0.0.1', '--master_port', String(await freePort()),
      join(dir, 'train_ddp.py'), '--model', join(dir, 'model.safetensors'), '--corpus', join(dir, 'corpus.safetensors'), '--out', trained, '--epochs', '1', '--cpu', '--test-speakers', 'S04m'];
    // SIGTERM on a timeout: torchrun's agent then stops its workers (a SIGKILL would orphan them).
    const run = spawnSync(PYTHON, args, { encoding: 'utf8', timeout: TORCHRUN_SECONDS * 1000, killSignal: 'SIGTERM' });
    // A timeout reads as exit status 1 (torchrun's answer to SIGTERM): say which it was.
    expect(run.error?.message, `torchrun did not end within ${TORCHRUN_SECONDS} s:\n${run.stdout}\n${run.stderr}`).toBeUndefined();
    expect(run.status, `torchrun failed (${run.status ?? run.signal}):\n${run.stdout}\n${run.stderr}`).toBe(0);
    console.log(run.stdout.trim());
    expect(run.stdout).toMatch(/2 process\(es\) on cpu/);

    // The engine reads the checkpoint as `ser predict` and loadRecognizer() do, and it has moved from the start.
    const { model } = decodeModel(new Uint8Array(readFileSync(trained)), trained);
    const after = await model.stateDict();
    expect(Math.max(...Object.keys(before).map((k) => relL2(before[k].data, after[k].data)))).toBeGreaterThan(1e-3);

    runPython([PARITY, 'predict', dir, trained, join(dir, 'corpus.safetensors'), join(dir, 'predictions.safetensors')]);
    const theirs = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'predictions.safetensors')))).tensors;
    let worst = 0;
    for (const [i, u] of corpus.utterances.entries()) {
      const ours = await classify(model, u.samples, config.sampleRate);
      const p = Float32Array.from(config.classes, (c) => ours.probabilities[c]);
      const q = theirs[`p.u${String(i).padStart(6, '0')}`].data;
      worst = Math.max(worst, ...p.map((v, c) => Math.abs(v - q[c])));
      expect(config.classes[q.indexOf(Math.max(...q))], u.file).toBe(ours.emotion);
    }
    console.log(`round trip: ${corpus.utterances.length} utterances, largest probability difference Node vs PyTorch ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
    model.dispose();
  });
});
