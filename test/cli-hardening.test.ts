// The `ser` command used carelessly (built from this source: test/cli.ts): output folders that cannot be made,
// paths of the wrong kind, and runs whose folder already holds another's files. Each case exits 1 with a
// message naming what was wrong, and loses nothing. Tiny synthetic runs, a few seconds each.

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { cliForTests } from './cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ser-cli-hardening-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ser export', () => {
  const cli = cliForTests();

  it('--out it cannot make: fails at once naming the folder, in both formats (/proc/x had hung)', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    for (const format of ['onnx', 'pytorch']) {
      const proc = await cli.run(['export', '--format', format, '--out', '/proc/x'], { timeoutMs: 20_000 });
      expect(proc.code, format).toBe(1);
      expect(proc.stderr).toContain('ser: output folder /proc/x: cannot create /proc/x');
      const onFile = await cli.run(['export', '--format', format, '--out', file]);
      expect(onFile.code, format).toBe(1);
      expect(onFile.stderr).toContain(`ser: output folder ${file}: ${file} exists and is not a folder`);
    }
  }, 60_000);
});

describe('a --model that is not a checkpoint file', () => {
  const cli = cliForTests();

  it('a folder or a device: each command names the path (a folder was a bare EISDIR, /dev/zero read until memory ran out)', async () => {
    const wav = join(dir, 'missing.wav');
    const commands = (model: string) => [
      ['predict', wav, '--model', model],
      ['eval', '--model', model, '--corpus', 'csv', '--data', join(dir, 'nothing.csv')],
      ['export', '--format', 'onnx', '--model', model, '--out', join(dir, 'export')],
    ];
    for (const [model, why] of [[dir, 'not a regular file (a directory)'], ['/dev/zero', 'not a regular file (a character device)']]) {
      for (const args of commands(model)) {
        const r = await cli.run(args, { timeoutMs: 20_000 });
        expect(r.code, args.join(' ')).toBe(1);
        expect(r.stderr, args.join(' ')).toContain(`ser: ${model}: cannot read checkpoint (${why})`);
      }
    }
  }, 120_000);
});

/** The smallest demo run: two folds of 4 synthetic speakers, one design, one epoch. */
const tinyDemo = (out: string, ...more: string[]) => ['demo', '--speakers', '4', '--utterances', '1', '--epochs', '1', '--no-gender', '--model', 'compact', '--out', out, '--json', ...more];
/** What a run in `out` recorded of its training options (run.json's identity). */
const trainingIdentity = async (out: string) => JSON.parse(await readFile(join(out, 'run.json'), 'utf8')).identity.training;

describe('an output folder that holds a run', () => {
  const cli = cliForTests();

  it('a command refused for its folds leaves the run recorded there resumable (it had replaced run.json)', async () => {
    const out = join(dir, 'refused-folds');
    expect((await cli.run(tinyDemo(out))).code).toBe(0);
    const record = await readFile(join(out, 'run.json'), 'utf8');
    const refused = await cli.run(tinyDemo(out, '--folds', '5'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('ser: folds: kfold with k=5 needs at least 5 speakers, got 4');
    expect(await readFile(join(out, 'run.json'), 'utf8')).toBe(record);
    const resumed = await cli.run(tinyDemo(out, '--resume'));
    expect(resumed.stderr).not.toContain('does not match');
    expect(resumed.code).toBe(0);
  }, 60_000);

  it('--final-only beside a cross-validation run adds the model and keeps its report (an empty one had replaced it)', async () => {
    const out = join(dir, 'final-later');
    expect((await cli.run(tinyDemo(out))).code).toBe(0);
    const [report, results] = await Promise.all(['report.md', 'results.json'].map((f) => readFile(join(out, f), 'utf8')));
    const final = await cli.run(tinyDemo(out, '--final-only'));
    expect(final.code).toBe(0);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true);
    expect(await readFile(join(out, 'report.md'), 'utf8')).toBe(report);
    expect(await readFile(join(out, 'results.json'), 'utf8')).toBe(results);
  }, 60_000);

  it("another run is refused, changing nothing, until --overwrite replaces it (it had overwritten the old run's files one by one)", async () => {
    const out = join(dir, 'another-run');
    expect((await cli.run(tinyDemo(out))).code).toBe(0);
    const files = async () => Object.fromEntries(await Promise.all((await readdir(out)).sort().map(async (f) => [f, await readFile(join(out, f), 'base64')] as const)));
    const before = await files();
    const other = await cli.run(tinyDemo(out, '--lr', '0.001'));
    expect(other.code).toBe(1);
    expect(other.stderr).toContain(`ser: output folder ${out} holds another run (run ${JSON.parse(await readFile(join(out, 'run.json'), 'utf8')).id}`);
    expect(other.stderr).toContain('training.lr: 0.002 there vs 0.001 now). Nothing was changed there: use another --out, --resume to continue that run (with its data and options), or --overwrite to replace it.');
    expect(await files()).toEqual(before);
    const both = await cli.run(tinyDemo(out, '--lr', '0.001', '--overwrite', '--resume'));
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('ser: --resume and --overwrite contradict each other');
    const replaced = await cli.run(tinyDemo(out, '--lr', '0.001', '--overwrite'));
    expect(replaced.code).toBe(0);
    const run = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
    expect(run.identity.training.lr).toBe(0.001);
    for (const fold of ['fold1-none.json', 'fold2-none.json']) expect(JSON.parse(await readFile(join(out, fold), 'utf8')).run).toBe(run.id);
  }, 60_000);

  it('--seeds checks every seed\'s folder before the first seed trains, and locks the outer folder', async () => {
    const out = join(dir, 'seeds-held');
    expect((await cli.run(tinyDemo(join(out, 'seed-2'), '--seed', '2', '--lr', '0.001'))).code).toBe(0);
    const refused = await cli.run(tinyDemo(out, '--seeds', '2'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`ser: output folder ${join(out, 'seed-2')} holds another run`);
    expect(existsSync(join(out, 'seed-1'))).toBe(false);
    await writeFile(join(out, 'run.lock'), JSON.stringify({ pid: process.pid, host: hostname() }));
    const locked = await cli.run(tinyDemo(out, '--seeds', '2', '--overwrite'));
    expect(locked.code).toBe(1);
    expect(locked.stderr).toContain(`ser: output folder ${out} is in use by another run (process ${process.pid}): wait for it to end, or use another --out. If no run is writing there, remove ${join(out, 'run.lock')}`);
    expect(existsSync(join(out, 'seed-1'))).toBe(false);
  }, 60_000);
});

// cli-progress draws only on a terminal: stderr is made to say it is one.
const terminal = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=data:text/javascript,process.stderr.isTTY=true`.trim() };
/** Whether the last cursor hiding and line-wrap switch-off of a progress bar were undone. */
const terminalRestored = (stderr: string) =>
  stderr.lastIndexOf('\x1b[?25h') > stderr.lastIndexOf('\x1b[?25l') && stderr.lastIndexOf('\x1b[?7h') > stderr.lastIndexOf('\x1b[?7l');

describe('training stopped on a terminal', () => {
  const cli = cliForTests();

  it('a failed run shows the cursor again and turns line wrapping back on, its error on a line of its own', async () => {
    const r = await cli.run(tinyDemo(join(dir, 'tty-diverged'), '--lr', '1e308').filter((a) => a !== '--json'), { env: terminal });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('\x1b[?25l'); // a bar was drawn
    expect(terminalRestored(r.stderr)).toBe(true);
    expect(r.stderr).toMatch(/\nser: training diverged in epoch 1/);
  }, 60_000);

  it('Ctrl-C (SIGINT): the terminal is restored, the process ends by the signal, and --resume finishes the run', async () => {
    const out = join(dir, 'tty-interrupted');
    const args = ['demo', '--speakers', '6', '--utterances', '2', '--epochs', '4', '--folds', '3', '--no-gender', '--model', 'compact', '--out', out];
    const r = await cli.run(args, { env: terminal, signal: 'SIGINT', killWhen: () => existsSync(join(out, 'fold1-none.safetensors')) });
    expect(r.signal).toBe('SIGINT');
    expect(r.stderr).toContain('\x1b[?25l');
    expect(terminalRestored(r.stderr)).toBe(true);
    expect(existsSync(join(out, 'fold1-none.json'))).toBe(false); // stopped inside the first fold
    const resumed = await cli.run([...args, '--resume', '--json']);
    expect(resumed.code).toBe(0);
  }, 120_000);
});

describe('numbers out of range', () => {
  const cli = cliForTests();

  it('a seed above 32 bits is refused before anything is written (1e20 --seeds 2 trained one seed twice into one folder)', async () => {
    const out = join(dir, 'big-seed');
    for (const [flags, message] of [
      [['--seed', '4294967297'], "error: option '--seed <n>' argument '4294967297' is invalid. --seed must be at most 4294967295 (seeds are 32-bit)"],
      [['--seed', '1e20', '--seeds', '2'], "error: option '--seed <n>' argument '1e20' is invalid. --seed must be at most 4294967295"],
      [['--split-seed', '4294967296'], "--split-seed must be at most 4294967295"],
      [['--seed', '4294967295', '--seeds', '2'], 'ser: --seed 4294967295 --seeds 2 runs past the largest seed, 4294967295'],
    ] as [string[], string][]) {
      const r = await cli.run(tinyDemo(out, ...flags));
      expect(r.code, flags.join(' ')).toBe(1);
      expect(r.stderr).toContain(message);
      expect(existsSync(out)).toBe(false);
    }
    const exported = await cli.run(['export', '--format', 'pytorch', '--corpus', 'synthetic', '--seed', '4294967297', '--out', out]);
    expect(exported.code).toBe(1);
    expect(exported.stderr).toContain('--seed must be at most 4294967295');
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it("an empty value where 0 is allowed is refused, not read as 0 (Number(''))", async () => {
    const out = join(dir, 'empty-values');
    for (const [flag, message] of [
      ['--validation-speakers', '--validation-speakers must be a non-negative integer'],
      ['--speed-perturbation', '--speed-perturbation must be a number in [0, 1)'],
    ]) {
      const r = await cli.run(tinyDemo(out, flag, ''));
      expect(r.code, flag).toBe(1);
      expect(r.stderr).toContain(`error: option '${flag} <`);
      expect(r.stderr).toContain(message);
      expect(existsSync(out)).toBe(false);
    }
  }, 60_000);
});

describe('flags that contradict each other', () => {
  const cli = cliForTests();

  it('are refused before anything is written, where one had been dropped in silence', async () => {
    const out = join(dir, 'contradiction');
    const gender = await cli.run([...tinyDemo(out), '--fusion', 'film']); // tinyDemo has --no-gender
    expect(gender.code).toBe(1);
    expect(gender.stderr).toContain("ser: --fusion film and --no-gender contradict each other: --no-gender trains only the design 'none'");
    const final = await cli.run(['train', '--corpus', 'csv', '--data', join(dir, 'nothing.csv'), '--out', out, '--final-only', '--no-final']);
    expect(final.code).toBe(1);
    expect(final.stderr).toContain('ser: --final-only and --no-final contradict each other: --final-only trains only the final model');
    expect(existsSync(out)).toBe(false);
  }, 60_000);
});

describe('SpecAugment (--mask-bands, --mask-frames)', () => {
  const cli = cliForTests();

  it('is recorded in the run identity only when on, and refused where it cannot apply, before anything is written', async () => {
    const masked = join(dir, 'masked');
    const on = await cli.run(tinyDemo(masked, '--mask-bands', '4', '--mask-frames', '12'));
    expect(on.code, on.stderr).toBe(0);
    expect((await trainingIdentity(masked)).specAugment).toEqual({ masks: 2, maxBands: 4, maxFrames: 12 });
    // Off, the identity holds no such field: runs of versions before it keep their id (and --resume).
    const plain = join(dir, 'unmasked');
    expect((await cli.run(tinyDemo(plain))).code).toBe(0);
    expect(Object.keys(await trainingIdentity(plain))).not.toContain('specAugment');
    const refused = join(dir, 'mask-refused');
    const m5 = await cli.run(tinyDemo(refused, '--model', 'm5-compact', '--mask-frames', '5'));
    expect(m5.code).toBe(1);
    expect(m5.stderr).toContain("ser: --mask-bands and --mask-frames mask the filter bank's bands and frames: they need --model default or compact, not --model m5-compact");
    const wide = await cli.run(tinyDemo(refused, '--mask-bands', '70000'));
    expect(wide.code).toBe(1);
    expect(wide.stderr).toContain('ser: --mask-bands 70000: at most 65535');
    expect(existsSync(refused)).toBe(false);
  }, 120_000);
});

describe('--noise-snr', () => {
  const cli = cliForTests();

  it('is recorded in the run identity only when on; a range that is not "low,high" is refused before anything is written', async () => {
    const noisy = join(dir, 'noisy');
    const on = await cli.run(tinyDemo(noisy, '--noise-snr', '10,30'));
    expect(on.code, on.stderr).toBe(0);
    expect((await trainingIdentity(noisy)).noiseSnrDb).toEqual([10, 30]);
    // Off, the identity holds no such field: runs of versions before it keep their id (and --resume).
    const plain = join(dir, 'quiet');
    expect((await cli.run(tinyDemo(plain))).code).toBe(0);
    expect(Object.keys(await trainingIdentity(plain))).not.toContain('noiseSnrDb');
    const refused = join(dir, 'noise-refused');
    for (const bad of ['30,10', '10', '10,', 'a,b', '10,20,30']) {
      const run = await cli.run(tinyDemo(refused, '--noise-snr', bad));
      expect(run.code, bad).toBe(1);
      expect(run.stderr).toContain('--noise-snr must be two numbers of decibels "low,high" with low ≤ high, e.g. 10,30');
    }
    expect(existsSync(refused)).toBe(false);
  }, 120_000);
});

describe('--pooling', () => {
  const cli = cliForTests();

  it("replaces the preset's pooling, in the run identity and the checkpoints; an unknown kind is refused", async () => {
    const out = join(dir, 'attentive');
    const run = await cli.run(tinyDemo(out, '--pooling', 'attentive', '--final'));
    expect(run.code, run.stderr).toBe(0);
    const identity = JSON.parse(await readFile(join(out, 'run.json'), 'utf8')).identity;
    expect(identity.model.pooling).toBe('attentive');
    const checkpoint = decodeSafetensors(new Uint8Array(await readFile(join(out, 'model.safetensors'))));
    expect(JSON.parse(checkpoint.metadata.config).pooling).toBe('attentive');
    expect(Object.keys(checkpoint.tensors)).toContain('attention.hidden.weight');
    const refused = join(dir, 'pooling-refused');
    const max = await cli.run(tinyDemo(refused, '--pooling', 'max'));
    expect(max.code).toBe(1);
    expect(max.stderr).toContain("argument 'max' is invalid. Allowed choices are mean, stats, attentive.");
    expect(existsSync(refused)).toBe(false);
  }, 120_000);
});

describe('a corpus with no usable file', () => {
  const cli = cliForTests();

  it('train, eval and export say that no file could be read, where the labels had been blamed', async () => {
    const data = join(dir, 'unreadable-corpus');
    await mkdir(data);
    const rows = ['path,emotion,speaker,gender'];
    for (const [i, emotion] of ['angry', 'sad', 'angry', 'sad'].entries()) {
      await writeFile(join(data, `u${i}.wav`), ''); // empty: skipped
      rows.push(`u${i}.wav,${emotion},s${i % 2},${i % 2 ? 'm' : 'f'}`);
    }
    await writeFile(join(data, 'manifest.csv'), rows.join('\n'));
    const model = resolve(import.meta.dirname, '../models/emodb.safetensors');
    for (const args of [
      ['train', '--corpus', 'csv', '--data', data, '--out', join(dir, 'unreadable-run')],
      ['eval', '--model', model, '--corpus', 'csv', '--data', data],
      ['export', '--format', 'pytorch', '--model', model, '--corpus', 'csv', '--data', data, '--out', join(dir, 'unreadable-export')],
    ]) {
      const r = await cli.run(args);
      expect(r.code, args[0]).toBe(1);
      expect(r.stderr).toContain(`skipped ${join(data, 'u3.wav')}: empty file (0 bytes)`);
      expect(r.stderr, args[0]).toContain(`ser: ${data}: none of the corpus's 4 utterances could be read (each is named above as skipped)`);
    }
  }, 60_000);
});

describe('--help', () => {
  const cli = cliForTests();

  it('shows the default folds as they are written', async () => {
    for (const [command, folds] of [['train', '5'], ['demo', 'pairs']]) {
      const r = await cli.run([command, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout.replace(/\s+/g, ' ')).toContain(`IEMOCAP holds out whole sessions (default: ${folds})`);
    }
  }, 30_000);
});
