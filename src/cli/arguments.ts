// The command line's number arguments, parsed for commander (`.option(flags, text, int('--epochs'))`): each
// refuses what it cannot take with an InvalidArgumentError naming the option. One place for ser's commands and
// for `ser export` (src/export/command.ts).

import { InvalidArgumentError } from 'commander';
import { MAX_SEED } from '../engine/random.js';

export const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
  return n;
};
/** A seed: a positive integer of at most 32 bits. A larger one was another's stream under a new name, and past
 * 2^53 --seeds' seed + 1 was the same number: the same run twice, into one folder, reported as two seeds. */
export const seedNumber = (name: string) => (v: string) => {
  const n = int(name)(v);
  if (n > MAX_SEED) throw new InvalidArgumentError(`${name} must be at most ${MAX_SEED} (seeds are 32-bit)`);
  return n;
};
// Number('') is 0: an empty value (an unset shell variable, quoted) had been taken as 0, as with --port below.
export const nonNegative = (name: string) => (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
  return n;
};
export const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
  return n;
};
/** A TCP port; 0 lets the system pick a free one (the URL printed says which). Node's own refusal of 70000
 * named neither the option nor the range. */
export const port = (name: string) => (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`${name} must be an integer from 0 to 65535`);
  return n;
};
export const fraction = (name: string) => (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !(n >= 0 && n < 1)) throw new InvalidArgumentError(`${name} must be a number in [0, 1)`);
  return n;
};
/** A range of decibels written "low,high" (two finite numbers, low ≤ high), e.g. an SNR range. */
export const decibelRange = (name: string) => (v: string): [number, number] => {
  const parts = v.split(',');
  const [low, high] = parts.map((p) => (p.trim() === '' ? NaN : Number(p)));
  if (parts.length !== 2 || !Number.isFinite(low) || !Number.isFinite(high) || low > high) {
    throw new InvalidArgumentError(`${name} must be two numbers of decibels "low,high" with low ≤ high, e.g. 10,30`);
  }
  return [low, high];
};
