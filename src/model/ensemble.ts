// Several networks of one configuration deciding together (`ser ensemble`): each window's emotion and gender
// probabilities are the mean of the members'. On EMO-DB, the seeds of one `ser train --seeds 5` run score 68-69 %
// UA alone and 72-73 % together (README, "The five seeds together"): part of one network's error is its own draw
// of initial weights, batch order and dropout, and the members' draws differ.
//
// The ensemble's outputs are the logarithms of those mean probabilities, so that softmax gives the mean back and
// everything that scores softmax(forward(...)) (classify, streams, evaluation, the ONNX graph) scores the ensemble
// unchanged; adapting batch norm to a speaker runs every member's forward, so each member adapts its own.

import { Module } from '../engine/module.js';
import { add, affine, log, softmax } from '../engine/ops.js';
import type { Tensor } from '../engine/tensor.js';
import type { ModelConfig } from './config.js';
import type { SerModel, SerOutput } from './ser-model.js';

/** What an ensemble may hold: more would multiply inference past any use for a model of this size. */
export const MAX_MEMBERS = 32;

export class SerEnsemble extends Module {
  readonly members: SerModel[];
  readonly config: ModelConfig;

  /** The members must share one configuration (architecture, window, classes); they are the ensemble's now, and
   * its dispose() frees them. */
  constructor(members: SerModel[]) {
    super();
    if (members.length < 2 || members.length > MAX_MEMBERS) throw new RangeError(`an ensemble holds 2 to ${MAX_MEMBERS} networks, got ${members.length}`);
    for (const [i, m] of members.entries()) {
      const difference = configDifference(members[0].config, m.config);
      if (difference) throw new Error(`ensemble: member ${i} has another configuration than member 0 (${difference})`);
    }
    this.members = members.map((m, i) => this.child(`member${i}`, m));
    this.config = members[0].config;
  }

  /** As SerModel.forward (x [N,1,L], gender [N,2] or none), each output the log of the members' mean probabilities. */
  forward(x: Tensor, gender?: Tensor): SerOutput {
    const outputs = this.members.map((m) => m.forward(x, gender));
    const logMean = (logits: Tensor[]) => log(affine(logits.map((l) => softmax(l)).reduce((sum, p) => add(sum, p)), 1 / logits.length));
    return { emotion: logMean(outputs.map((o) => o.emotion)), gender: logMean(outputs.map((o) => o.gender)) };
  }
}

/** A trained network that scores audio: one model, or an ensemble of them. */
export type Network = SerModel | SerEnsemble;

/** The first configuration field in which two configurations differ, as "windowSamples: 48000 vs 16000";
 * undefined where they are the same (whatever the order of their fields). */
export function configDifference(a: ModelConfig, b: ModelConfig): string | undefined {
  const fields = (c: ModelConfig) => c as unknown as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const key = keys.find((k) => canonical(fields(a)[k]) !== canonical(fields(b)[k]));
  return key === undefined ? undefined : `${key}: ${canonical(fields(a)[key])} vs ${canonical(fields(b)[key])}`;
}

/** JSON with every object's fields sorted (and those set to undefined left out, as JSON does). */
function canonical(v: unknown): string {
  if (v === undefined) return 'absent';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
}
