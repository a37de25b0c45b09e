// `ser export --format onnx`: the inference graph of a checkpoint as ONNX (opset 17), encoded by onnx-proto
// (ONNX's own schema compiled for protobufjs), for ONNX Runtime in Node or in pages (onnxruntime-web).
//
//   inputs:  audio [N, 1, windowSamples] float32, level-normalised windows (as ser predict cuts them);
//            gender (models with a gender input only) [N, 2] one-hot (f, m), or [1, 2] for the whole batch. The
//            gender is optional row by row: where a row is zeros, the gender head's probabilities stand in, as
//            in SerModel.forward without a gender. (A graph input cannot be left out in ONNX Runtime's
//            JavaScript API, which drops feeds that are not required inputs, so "not given" is a zero row.)
//   outputs: emotion_logits [N, classes], gender_logits [N, 2]; the classes are in the model's metadata_props.
//            An ensemble's (src/model/ensemble.ts) are the logs of its members' mean probabilities, as the engine's:
//            softmax gives the mean back.
//
// The graph is the eval-mode network of src/model/ser-model.ts (batch norm with its running statistics, no
// dropout), layer by layer; window lengths are fixed, so every layer's length (and whether a block pools) is
// known here. test/export-onnx.test.ts runs it in onnxruntime-node against the engine.

import onnxProto from 'onnx-proto';
import type { ModelConfig } from '../model/config.js';
import { SerEnsemble } from '../model/ensemble.js';
import { decodeModel } from '../model/model-file.js';
import { fusionOf, GENDERS } from '../model/ser-model.js';
import { decodeSafetensors, type NamedTensor } from '../io/safetensors.js';

const { onnx } = onnxProto;
export const ONNX_OPSET = 17;
/** The IR version that goes with opset 17 (ONNX 1.12). */
const IR_VERSION = 8;
// The model's own constants (src/model/filterbank.ts, ser-model.ts, engine/nn.ts).
const ENERGY_FLOOR = 1e-6;
const STATS_EPS = 1e-5;
const BATCH_NORM_EPS = 1e-5;

type Attribute = number | number[];

/** A graph under construction: nodes in order, weights and constants as initializers, fresh value names. */
class GraphBuilder {
  readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private count = 0;
  /** The state-dict prefix of the network being built: an ensemble's member<i>., else none. */
  member = '';

  constructor(private readonly weights: Record<string, NamedTensor>) {}

  /** A checkpoint tensor by its state-dict name within the network being built (the initializer keeps the
   * file's name). */
  weight(name: string): string {
    const full = this.member + name;
    const t = this.weights[full];
    if (!t) throw new Error(`onnx export: the checkpoint has no tensor "${full}"`);
    this.floats(full, t.shape, t.data);
    return full;
  }

  floats(name: string, dims: number[], data: Float32Array): string {
    const bytes = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    this.initializers.push(onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: bytes }));
    return name;
  }

  scalar(value: number): string {
    return this.floats(`const${this.count++}`, [], Float32Array.of(value));
  }

  int64s(values: number[]): string {
    const name = `const${this.count++}`;
    const bytes = new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer);
    this.initializers.push(onnx.TensorProto.create({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: bytes }));
    return name;
  }

  /** Appends a node; returns its (first) output's name. */
  op(type: string, inputs: string[], attributes: Record<string, Attribute> = {}, outputs = 1): string {
    const names = Array.from({ length: outputs }, () => `${type.toLowerCase()}${this.count++}`);
    const attribute = Object.entries(attributes).map(([name, v]) =>
      typeof v === 'number'
        ? Number.isInteger(v) && name !== 'epsilon'
          ? { name, type: onnx.AttributeProto.AttributeType.INT, i: v }
          : { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v }
        : { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v },
    );
    this.nodes.push(onnx.NodeProto.create({ opType: type, input: inputs, output: names, name: names[0], attribute }));
    return names[0];
  }

  /** Every output of the last node. */
  outputsOfLast(): string[] {
    return this.nodes[this.nodes.length - 1].output;
  }

  linear(x: string, prefix: string): string {
    return this.op('Gemm', [x, this.weight(`${prefix}.weight`), this.weight(`${prefix}.bias`)], { transB: 1 });
  }

  batchNorm(x: string, prefix: string): string {
    const p = (n: string) => this.weight(`${prefix}.${n}`);
    return this.op('BatchNormalization', [x, p('weight'), p('bias'), p('running_mean'), p('running_var')], { epsilon: BATCH_NORM_EPS });
  }

  /** [N,C,T] → [N,2C]: mean over time, then the standard deviation (biased, + STATS_EPS). */
  statisticsPooling(h: string): string {
    const m = this.op('ReduceMean', [h], { axes: [2], keepdims: 1 });
    const d = this.op('Sub', [h, m]);
    const variance = this.op('ReduceMean', [this.op('Mul', [d, d])], { axes: [2], keepdims: 0 });
    const sd = this.op('Sqrt', [this.op('Add', [variance, this.scalar(STATS_EPS)])]);
    return this.op('Concat', [this.op('Squeeze', [m, this.int64s([2])]), sd], { axis: 1 });
  }

  /** Attentive statistics pooling, as SerModel's: frame scores, their softmax over time, the weighted mean and sd. */
  attentivePooling(h: string, prefix: string): string {
    const hidden = this.op('Tanh', [this.op('Conv', [h, this.weight(`${prefix}.hidden.weight`), this.weight(`${prefix}.hidden.bias`)], { kernel_shape: [1] })]);
    const weights = this.op('Softmax', [this.op('Conv', [hidden, this.weight(`${prefix}.score.weight`)], { kernel_shape: [1] })], { axis: 2 });
    const m = this.op('ReduceSum', [this.op('Mul', [h, weights]), this.int64s([2])], { keepdims: 1 });
    const d = this.op('Sub', [h, m]);
    const variance = this.op('ReduceSum', [this.op('Mul', [this.op('Mul', [d, d]), weights]), this.int64s([2])], { keepdims: 0 });
    const sd = this.op('Sqrt', [this.op('Add', [variance, this.scalar(STATS_EPS)])]);
    return this.op('Concat', [this.op('Squeeze', [m, this.int64s([2])]), sd], { axis: 1 });
  }
}

const tensorType = (name: string, dims: (number | string)[]) =>
  onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });

/** The ONNX bytes of a checkpoint's inference graph. */
export function exportOnnx(checkpoint: Uint8Array, source: string): Uint8Array {
  const { model, metadata } = decodeModel(checkpoint, source);
  const config = model.config;
  const members = model instanceof SerEnsemble ? model.members.length : 0;
  model.dispose();
  // decodeModel has validated the file; the weights are read again as plain arrays for the initializers.
  const g = new GraphBuilder(decodeSafetensors(checkpoint, source).tensors);
  const out = members ? ensembleGraph(g, config, members) : buildGraph(g, config);
  const [emotion, gender] = ['emotion_logits', 'gender_logits'];
  g.nodes.push(onnx.NodeProto.create({ opType: 'Identity', input: [out.emotion], output: [emotion], name: emotion }));
  g.nodes.push(onnx.NodeProto.create({ opType: 'Identity', input: [out.gender], output: [gender], name: gender }));
  const hasGenderInput = out.hasGenderInput;
  const inputs = [tensorType('audio', ['N', 1, config.windowSamples])];
  if (hasGenderInput) inputs.push(tensorType('gender', ['gender_rows', GENDERS.length]));
  const graph = onnx.GraphProto.create({
    name: 'ser',
    node: g.nodes,
    initializer: g.initializers,
    input: inputs,
    output: [tensorType(emotion, ['N', config.classes.length]), tensorType(gender, ['N', GENDERS.length])],
  });
  const modelProto = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'ser-webgpu',
    graph,
    metadataProps: [
      { key: 'classes', value: JSON.stringify(config.classes) },
      { key: 'config', value: JSON.stringify(config) },
      ...(metadata.corpus ? [{ key: 'corpus', value: metadata.corpus }] : []),
    ],
  });
  return onnx.ModelProto.encode(modelProto).finish();
}

/** Every member's network, then each output the log of the members' mean probabilities (SerEnsemble.forward). */
function ensembleGraph(g: GraphBuilder, config: ModelConfig, members: number): ReturnType<typeof buildGraph> {
  const outs = Array.from({ length: members }, (_, i) => {
    g.member = `member${i}.`;
    return buildGraph(g, config);
  });
  g.member = '';
  const logMean = (logits: string[]) => g.op('Log', [g.op('Mean', logits.map((l) => g.op('Softmax', [l], { axis: 1 })))]);
  return { emotion: logMean(outs.map((o) => o.emotion)), gender: logMean(outs.map((o) => o.gender)), hasGenderInput: outs[0].hasGenderInput };
}

/** The eval-mode network, node by node, with the names of its two outputs. */
function buildGraph(g: GraphBuilder, config: ModelConfig): { emotion: string; gender: string; hasGenderInput: boolean } {
  const front = config.frontEnd;
  const film = config.useGender && fusionOf(config) === 'film';
  let h = 'audio';
  let length = config.windowSamples;
  if (front) {
    // Filter bank: the conv gives [N, 2F, T] (real kernels, then imaginary); energy re² + im², then log.
    const padding = Math.floor(front.kernel / 2) - 1;
    const y = g.op('Conv', [h, g.weight('frontend.weight')], { kernel_shape: [front.kernel], strides: [front.hop], pads: [padding, padding] });
    g.op('Split', [y, g.int64s([front.filters, front.filters])], { axis: 1 }, 2);
    const [re, im] = g.outputsOfLast();
    const energy = g.op('Add', [g.op('Mul', [re, re]), g.op('Mul', [im, im])]);
    h = g.batchNorm(g.op('Log', [g.op('Add', [energy, g.scalar(ENERGY_FLOOR)])]), 'frontend_bn');
    length = Math.floor((length + 2 * padding - front.kernel) / front.hop) + 1;
  }
  const hasGenderInput = config.useGender;
  // The gender used: the given one-hot, or where a row is zeros the head's estimate (g + (1 − Σg)·softmax).
  const genderUsed = (logits: string) => {
    const missing = g.op('Sub', [g.scalar(1), g.op('ReduceSum', ['gender', g.int64s([1])], { keepdims: 1 })]);
    return g.op('Add', ['gender', g.op('Mul', [missing, g.op('Softmax', [logits], { axis: 1 })])]);
  };
  let genderLogits = '';
  let filmGender = '';
  if (film) {
    // FiLM's gender head reads the filter bank's statistics, which the gender does not modulate.
    genderLogits = g.linear(g.statisticsPooling(h), 'gender');
    filmGender = genderUsed(genderLogits);
  }
  config.blocks.forEach((spec, i) => {
    const padding = Math.floor(spec.kernel / 2) - (spec.kernel % 2 === 0 ? 1 : 0);
    let y = g.batchNorm(
      g.op('Conv', [h, g.weight(`block${i}.conv.weight`)], { kernel_shape: [spec.kernel], strides: [spec.stride], pads: [padding, padding] }),
      `block${i}.bn`,
    );
    length = Math.floor((length + 2 * padding - spec.kernel) / spec.stride) + 1;
    if (film) {
      const axis = g.int64s([2]);
      const scale = g.op('Unsqueeze', [g.op('Add', [g.linear(filmGender, `film${i}.scale`), g.scalar(1)]), axis]);
      const shift = g.op('Unsqueeze', [g.linear(filmGender, `film${i}.shift`), axis]);
      y = g.op('Add', [g.op('Mul', [y, scale]), shift]);
    }
    h = g.op('Relu', [y]);
    // As the engine: a sequence shorter than the pool is not pooled.
    if (spec.pool > 1 && length >= spec.pool) {
      h = g.op('MaxPool', [h], { kernel_shape: [spec.pool], strides: [spec.pool] });
      length = Math.floor(length / spec.pool);
    }
  });
  const pool = { mean: () => g.op('ReduceMean', [h], { axes: [2], keepdims: 0 }), stats: () => g.statisticsPooling(h), attentive: () => g.attentivePooling(h, 'attention') };
  let features = pool[config.pooling ?? 'mean']();
  if (!film) {
    genderLogits = g.linear(features, 'gender');
    if (config.useGender) features = g.op('Concat', [features, genderUsed(genderLogits)], { axis: 1 });
  }
  const hidden = config.hidden > 0 ? g.op('Relu', [g.linear(features, 'hidden')]) : features;
  const emotion = g.linear(hidden, 'emotion');
  return { emotion, gender: genderLogits, hasGenderInput };
}
