// Our side of the whole-model cases, the counterpart of ser-tfjs.ts: the SER model with its Adam optimiser and
// a batch kept on the device, stepped as src/train/trainer.ts steps it. Shared by the model cases
// (cases-model.ts) and the cold-start child (cold-start.ts), which must not load TensorFlow.js.

import { Adam, CapturedStep, noGrad, softmax, tensor, tidy, type Tensor } from '../src/index.js';
import { MODEL_PRESETS, type ModelConfig, type ModelPreset } from '../src/model/config.js';
import { SerModel, serLoss } from '../src/model/ser-model.js';
import { DEFAULT_TRAIN_OPTIONS } from '../src/train/trainer.js';
import { randomArray } from './check.js';

export const CLASSES = ['angry', 'happy', 'neutral', 'sad'];
export const SEED = 1;
export const LR = 1e-3;

/** The configuration a preset's cases run (ours, tfjs's twin and PyTorch's alike). */
export const benchModelConfig = (preset: ModelPreset): ModelConfig => MODEL_PRESETS[preset](CLASSES, true);

export interface HostBatch {
  samples: Float32Array;
  genders: Float32Array;
  labels: Int32Array;
  genderLabels: Int32Array;
}

export function hostBatch(size: number, windowSamples: number, seed: number): HostBatch {
  const genderLabels = Int32Array.from({ length: size }, (_, i) => i % 2);
  return {
    samples: randomArray(size * windowSamples, seed, -0.5, 0.5),
    genders: Float32Array.from({ length: size * 2 }, (_, i) => (i % 2 === genderLabels[i >> 1] ? 1 : 0)),
    labels: Int32Array.from({ length: size }, (_, i) => i % CLASSES.length),
    genderLabels,
  };
}

/** Our model with its optimiser and a batch on the device. */
export class OurSer {
  readonly model: SerModel;
  private adam: Adam;
  private x: Tensor;
  private g: Tensor;
  /** The step: the batch's samples stay on the device; its targets are the inputs that a replay uploads. */
  private captured = new CapturedStep((_labels: Int32Array, _genderLabels: Int32Array) => {
    // The logits are part of the graph: disposing them before backward would cut the emotion branch off.
    const [loss, logits] = this.lossAndLogits();
    loss.backwardSync();
    logits.dispose();
    this.adam.step();
    this.adam.zeroGrad();
    return loss;
  });
  constructor(
    readonly config: ModelConfig,
    private batch: HostBatch,
  ) {
    this.model = new SerModel(config, SEED);
    this.adam = new Adam(this.model.parameters(), { lr: LR });
    const size = batch.labels.length;
    this.x = tensor(batch.samples, [size, 1, config.windowSamples]).keep();
    this.g = tensor(batch.genders, [size, 2]).keep();
  }

  /** Training-mode loss (the trainer's serLoss, its gender weight included) and the emotion logits. */
  lossAndLogits(): [Tensor, Tensor] {
    this.model.train();
    return tidy(() => {
      const out = this.model.forward(this.x, this.config.useGender ? this.g : undefined);
      const loss = serLoss(out, this.batch, { genderWeight: DEFAULT_TRAIN_OPTIONS.genderLossWeight });
      return [loss, out.emotion];
    });
  }

  /** One training step, recorded at the first call and replayed after, as the trainer's (src/train/trainer.ts). */
  step(): void {
    this.captured.run(this.batch.labels, this.batch.genderLabels).dispose();
  }

  predict(): Tensor[] {
    this.model.eval();
    return tidy(() =>
      noGrad(() => {
        const out = this.model.forward(this.x, this.config.useGender ? this.g : undefined);
        return [softmax(out.emotion), softmax(out.gender)];
      }),
    );
  }

  dispose(): void {
    this.captured.dispose();
    this.adam.dispose();
    this.model.dispose();
    this.x.dispose();
    this.g.dispose();
  }
}
