// `ser export --format pytorch`: the model for PyTorch users who outgrow one machine. It writes
//   ser_model.py       the network in PyTorch (any configuration a checkpoint holds), same parameter names;
//   train_ddp.py       the training recipe under torchrun / DistributedDataParallel, writing our checkpoints;
//   torchrun_compat.py torchrun for Debian bookworm's torch 1.13 on Python 3.11, whose own launcher fails;
//   model.safetensors  the weights and configuration (our checkpoint format, optimiser state left out);
//   corpus.safetensors (with a corpus) the utterances as our readers load them: decoded, resampled to the
//                      model's rate and level-normalised, so PyTorch trains on exactly the samples we would;
//                      with the corpus's split groups (folds.ts) and its unscored utterances (Corpus.unscored),
//                      so that train_ddp.py deals the engine's folds and adapts to a test speaker's whole audio.
// The Python files live in ./python as real Python and are bundled as text.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeModel, encodeModel, singleNetwork } from '../model/model-file.js';
import type { LoadedUtterance } from '../train/corpora/types.js';
import { corpusSpeakers, splitGroups } from '../train/folds.js';
import type { NamedTensor } from '../io/safetensors.js';
import { encodeSafetensors } from '../io/safetensors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { prepareOutputDir } from '../io/out-dir.js';
import serModelPy from './python/ser_model.py';
import torchrunCompatPy from './python/torchrun_compat.py';
import trainDdpPy from './python/train_ddp.py';

export const CORPUS_FORMAT = 'ser-webgpu/corpus-1';

export interface ExportedCorpus {
  name: string;
  utterances: LoadedUtterance[];
  /** Utterances outside the classes (Corpus.unscored): never trained on or scored, but their speaker's audio,
   * which per-speaker normalisation adapts to at test time as `ser train` does. */
  unscored?: LoadedUtterance[];
}

/** Writes the PyTorch export of a checkpoint into outDir; returns the paths written. */
export async function exportPyTorch(checkpoint: Uint8Array, source: string, outDir: string, corpus?: ExportedCorpus): Promise<string[]> {
  // Decoding validates the file (config, shapes, finite values) before anything is written.
  const decoded = decodeModel(checkpoint, source);
  const { metadata } = decoded;
  // train_ddp.py trains and ser_model.py builds one network.
  const model = singleNetwork(decoded.model, source, 'the PyTorch export');
  try {
    const { config } = model;
    const corpusBytes = corpus && encodeCorpus(corpus, config.classes, config.sampleRate);
    await prepareOutputDir(outDir);
    const written: [string, Uint8Array | string][] = [
      ['ser_model.py', serModelPy],
      ['train_ddp.py', trainDdpPy],
      ['torchrun_compat.py', torchrunCompatPy],
      ['model.safetensors', await encodeModel(model, {}, metadata.corpus ? { corpus: metadata.corpus } : {})],
    ];
    if (corpusBytes) written.push(['corpus.safetensors', corpusBytes]);
    for (const [name, content] of written) {
      const path = join(outDir, name);
      if (typeof content === 'string') await writeFile(path, content);
      else await writeFileAtomic(path, content);
    }
    return written.map(([name]) => join(outDir, name));
  } finally {
    model.dispose();
  }
}

/** The corpus as safetensors: one tensor per utterance (u000000, ...) and, in the metadata, the labels in the
 * model's class order. An emotion the model does not know is refused: its label would have no index. The
 * unscored utterances follow the scored ones (their own labels kept, for reading only), and `groups` lists the
 * split groups (each a list of speaker ids) in the order folds.ts deals them from before a seed shuffles it,
 * so that train_ddp.py deals the same folds without reimplementing Intl.Collator's numeric order. */
export function encodeCorpus(corpus: ExportedCorpus, classes: string[], sampleRate: number): Uint8Array {
  const unknown = [...new Set(corpus.utterances.map((u) => u.emotion).filter((e) => !classes.includes(e)))];
  if (unknown.length) {
    throw new Error(`corpus ${corpus.name}: emotions [${unknown.join(', ')}] are not among the model's classes [${classes.join(', ')}]`);
  }
  if (!corpus.utterances.length) throw new Error(`corpus ${corpus.name}: no utterances to export`);
  const unscored = corpus.unscored ?? [];
  const tensors: Record<string, NamedTensor> = {};
  const digits = Math.max(6, String(corpus.utterances.length + unscored.length).length);
  let next = 0;
  const entries = (list: LoadedUtterance[]) =>
    list.map((u) => {
      const tensor = `u${String(next++).padStart(digits, '0')}`;
      tensors[tensor] = { shape: [u.samples.length], data: u.samples };
      return { file: u.file, speaker: u.speaker, gender: u.gender, emotion: u.emotion, tensor };
    });
  const utterances = entries(corpus.utterances);
  // As `ser train`: the folds are over the speakers of the scored utterances (a speaker in two groups is refused).
  const groups = splitGroups(corpusSpeakers(corpus.utterances)).map((group) => group.map((s) => s.id));
  return encodeSafetensors(tensors, {
    format: CORPUS_FORMAT,
    name: corpus.name,
    sampleRate: String(sampleRate),
    classes: JSON.stringify(classes),
    utterances: JSON.stringify(utterances),
    unscored: JSON.stringify(entries(unscored)),
    groups: JSON.stringify(groups),
  });
}
