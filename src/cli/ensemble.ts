// `ser ensemble`: one model file from several networks of one configuration (the final models of several
// training seeds, say), which then decide together: predict, eval, the page, the embedding API and the ONNX export
// take the file as they take one model (src/model/ensemble.ts).

import type { Command } from 'commander';
import { init } from '../engine/context.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { readCheckpointFile } from '../io/safetensors-file.js';
import { configDifference, SerEnsemble } from '../model/ensemble.js';
import { decodeModel, encodeModel } from '../model/model-file.js';
import type { SerModel } from '../model/ser-model.js';

export function addEnsembleCommand(program: Command): void {
  program
    .command('ensemble')
    .description('write one model file whose networks (from several model files of one configuration) decide together: each prediction is the mean of their probabilities')
    .argument('<model...>', 'model files written by ser train (the members of an ensemble file join one by one)')
    .requiredOption('--out <file>', 'the ensemble model file to write')
    .action(async (files: string[], flags: { out: string }) => {
      // Combining computes nothing: the CPU backend holds the weights while they are checked and re-encoded.
      await init({ backend: 'cpu' });
      const members: SerModel[] = [];
      const corpora = new Set<string | undefined>();
      try {
        for (const file of files) {
          const { model, metadata } = decodeModel(await readCheckpointFile(file), file);
          members.push(...(model instanceof SerEnsemble ? model.members : [model]));
          const difference = configDifference(members[0].config, model.config);
          if (difference) throw new Error(`${file}: another configuration than ${files[0]} (${difference}): the networks of an ensemble read the same windows and name the same classes`);
          corpora.add(metadata.corpus);
        }
        const ensemble = new SerEnsemble(members);
        // The corpus the networks were trained on, where they all name the same one.
        const [corpus] = corpora;
        await writeFileAtomic(flags.out, await encodeModel(ensemble, {}, corpora.size === 1 && corpus !== undefined ? { corpus } : {}));
        console.log(`${flags.out}: an ensemble of ${members.length} networks (${ensemble.config.classes.join(', ')})`);
      } finally {
        for (const m of members) m.dispose();
      }
    });
}
