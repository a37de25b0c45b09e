// The `ser export` command: a checkpoint for another engine: --format pytorch (./pytorch.ts), optionally with a
// corpus prepared by our own readers for the exported training script, or --format onnx (./onnx.ts).

import { Command, Option } from 'commander';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init } from '../engine/context.js';
import { int, seedNumber } from '../cli/arguments.js';
import { decodeModel, singleNetwork } from '../model/model-file.js';
import { shippedModelUrl, SHIPPED_MODEL_DESCRIPTION } from '../model/shipped.js';
import { checkLoaded, CORPUS_KINDS, loadCorpusAudio, readCorpus, type CorpusKind } from '../train/corpora/index.js';
import { generateSyntheticCorpus } from '../train/synthetic.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { prepareOutputDir } from '../io/out-dir.js';
import { readCheckpointFile } from '../io/safetensors-file.js';
import { exportOnnx } from './onnx.js';
import { exportPyTorch, type ExportedCorpus } from './pytorch.js';

export const EXPORT_FORMATS = ['pytorch', 'onnx'] as const;

interface ExportFlags {
  format: (typeof EXPORT_FORMATS)[number];
  model?: string;
  out: string;
  corpus?: CorpusKind | 'synthetic';
  data?: string;
  speakers: number;
  utterances: number;
  seed: number;
  strict: boolean;
  mergeExcited: boolean;
}

export function addExportCommand(program: Command): void {
  program
    .command('export')
    .description('write a checkpoint for another engine: pytorch (the model as a Python module, its weights, a DDP training script for torchrun) or onnx (the inference graph, opset 17)')
    .addOption(new Option('--format <format>', 'target engine').choices(EXPORT_FORMATS).makeOptionMandatory())
    .option('--model <file>', `checkpoint written by ser train or train_ddp.py (default: the shipped ${SHIPPED_MODEL_DESCRIPTION})`)
    .requiredOption('--out <dir>', 'folder for the exported files')
    .addOption(new Option('--corpus <name>', 'also write this corpus, loaded by our readers, as corpus.safetensors for train_ddp.py').choices([...CORPUS_KINDS, 'synthetic']))
    .option('--data <dir>', 'the corpus folder (or CSV manifest); not for --corpus synthetic')
    .option('--speakers <n>', 'synthetic corpus: speakers (half female)', int('--speakers'), 8)
    .option('--utterances <n>', 'synthetic corpus: utterances per emotion and speaker', int('--utterances'), 6)
    .option('--seed <n>', 'synthetic corpus: seed', seedNumber('--seed'), 1)
    .option('--strict', 'refuse (instead of skipping) corrupt or unreadable audio files', false)
    .option('--no-merge-excited', 'IEMOCAP: keep excited out of happy (unscored), as ser train --no-merge-excited')
    .action(async (flags: ExportFlags) => {
      const path = flags.model ?? fileURLToPath(shippedModelUrl());
      // Exporting computes nothing: the CPU backend holds the weights while they are checked and re-encoded.
      await init({ backend: 'cpu' });
      const bytes = await readCheckpointFile(path);
      const { model } = decodeModel(bytes, path);
      const sampleRate = model.config.sampleRate;
      // Before anything is written: an ensemble goes to ONNX only (singleNetwork frees it where it refuses).
      if (flags.format === 'pytorch') singleNetwork(model, path, 'the PyTorch export');
      model.dispose();
      if (flags.format === 'onnx' && flags.corpus) throw new Error('--corpus goes with --format pytorch (the training script reads it)');
      // As ser train's --out, before a corpus is read: Node's recursive mkdir never returned for --out /proc/x,
      // and an --out that is a file was Node's bare EEXIST.
      await prepareOutputDir(flags.out);
      if (flags.format === 'onnx') {
        const file = join(flags.out, 'model.onnx');
        await writeFileAtomic(file, exportOnnx(bytes, path));
        console.log(file);
        return;
      }
      const corpus = flags.corpus && (await exportCorpus(flags, sampleRate));
      for (const file of await exportPyTorch(bytes, path, flags.out, corpus)) console.log(file);
    });
}

async function exportCorpus(flags: ExportFlags, sampleRate: number): Promise<ExportedCorpus> {
  if (flags.corpus === 'synthetic') {
    if (flags.data) throw new Error('--data is not used with --corpus synthetic (the corpus is generated)');
    const { name, utterances } = generateSyntheticCorpus({ speakers: flags.speakers, utterancesPerEmotion: flags.utterances, seed: flags.seed, sampleRate });
    return { name, utterances };
  }
  if (!flags.data) throw new Error(`--corpus ${flags.corpus} needs --data <dir>`);
  // The corpus as `ser train` reads it with the same flags, so PyTorch trains on the same labels.
  const corpus = await readCorpus(flags.corpus!, flags.data, { mergeExcited: flags.mergeExcited });
  const loaded = await loadCorpusAudio(corpus, { sampleRate, strict: flags.strict });
  for (const s of loaded.skipped) console.error(`skipped ${s.reason}`);
  checkLoaded(flags.data, corpus, loaded);
  // The unscored utterances too: `ser train` adapts a test speaker's batch norm to them (train_ddp.py as well).
  return { name: corpus.name, utterances: loaded.utterances, unscored: loaded.unscored };
}
