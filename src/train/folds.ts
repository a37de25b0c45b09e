// Speaker-independent cross-validation splits: leave-one-speaker-out, k-fold over speakers, and
// leave-one-male/female-pair-out (EMO-DB's usual 5 folds). Every speaker is tested in exactly one
// fold, and within a fold the train/validation/test speaker sets are disjoint. Browser-usable.
//
// Speakers may be grouped (IEMOCAP: the two actors of a session, who share every dialogue and can be heard on
// each other's microphones): folds are then built over groups, so a group is never on two sides of a fold, and
// 'loso' leaves one group out (IEMOCAP: one session). An ungrouped speaker is a group of its own.
//
// Determinism: without a seed, groups are taken in natural id order ("03" < "08" < "10"), which
// gives a canonical split; a seed shuffles that order reproducibly (mulberry32, engine/random.ts).

import { seededRandom } from '../engine/random.js';

export interface Fold {
  index: number;
  trainSpeakers: string[];
  validationSpeakers: string[];
  testSpeakers: string[];
}

export type FoldScheme = { kind: 'loso' } | { kind: 'kfold'; k: number } | { kind: 'pairs' };

export interface Speaker {
  id: string;
  gender: 'f' | 'm';
  /** Speakers of one group are never split between training and test; default: the speaker alone. */
  group?: string;
}

export interface FoldOptions {
  /** Validation speakers per fold; for 'pairs' this counts pairs, with grouped speakers groups. Default 1. 0 = no validation. */
  validationSpeakers?: number;
  seed?: number;
}

const naturalOrder = new Intl.Collator('en', { numeric: true }).compare;

/** The speakers of a corpus's utterances, with their split groups; a speaker in two groups is an error naming
 * the speaker, both groups and a file of each. */
export function corpusSpeakers(utterances: { file: string; speaker: string; gender: 'f' | 'm'; group?: string }[]): Speaker[] {
  const speakers = new Map<string, Speaker & { file: string }>();
  for (const u of utterances) {
    const known = speakers.get(u.speaker);
    if (!known) speakers.set(u.speaker, { id: u.speaker, gender: u.gender, group: u.group, file: u.file });
    else if (known.group !== u.group) {
      throw new Error(`speaker "${u.speaker}" is in split group ${JSON.stringify(known.group)} (${known.file}) and ${JSON.stringify(u.group)} (${u.file}): a speaker belongs to one group`);
    }
  }
  return [...speakers.values()].map(({ id, gender, group }) => (group === undefined ? { id, gender } : { id, gender, group }));
}

/** The split groups (speakers in natural id order within each), in natural order of group: the order the folds
 * are dealt from before a seed shuffles it (the PyTorch export writes it for train_ddp.py). */
export function splitGroups(speakers: Speaker[]): Speaker[][] {
  const groups = new Map<string, Speaker[]>();
  for (const s of [...speakers].sort((a, b) => naturalOrder(a.id, b.id))) {
    const key = groupKey(s);
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  return [...groups.keys()].sort(naturalOrder).map((key) => groups.get(key)!);
}

/** The split groups shuffled by the seed. */
function orderGroups(speakers: Speaker[], seed: number | undefined): Speaker[][] {
  const ordered = splitGroups(speakers);
  if (seed === undefined) return ordered;
  const random = seededRandom(seed);
  for (let i = ordered.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [ordered[i], ordered[j]] = [ordered[j], ordered[i]];
  }
  return ordered;
}

// Prefixed so that a group's name never meets an ungrouped speaker's id.
const groupKey = (s: Speaker) => (s.group === undefined ? `speaker ${s.id}` : `group ${s.group}`);

interface Plan {
  /** The units validation is drawn from: single speakers, male/female pairs for 'pairs', or groups. */
  units: Speaker[][];
  /** Per fold, the indices of the units it tests. */
  tests: number[][];
  /** What a unit is called in errors. */
  unitName: 'speakers' | 'pairs' | 'groups';
}

function plan(groups: Speaker[][], scheme: FoldScheme): Plan {
  if (groups.every((g) => g.length === 1)) return planSpeakers(groups.map((g) => g[0]), scheme);
  // Grouped speakers: the groups are the units, whole, whatever the scheme.
  const tests = groups.map((_, i) => [i]);
  switch (scheme.kind) {
    case 'loso':
      return { units: groups, tests, unitName: 'groups' };
    case 'kfold': {
      const { k } = scheme;
      if (!Number.isInteger(k) || k < 2) throw new Error(`folds: kfold needs an integer k >= 2, got ${k}`);
      if (k > groups.length) throw new Error(`folds: kfold with k=${k} needs at least ${k} speaker groups (a group is never split between training and test), got ${groups.length}`);
      // All-female groups first, then mixed, then all-male, dealt round-robin as single speakers are below.
      const mix = (g: Speaker[]) => (g.every((s) => s.gender === 'f') ? 0 : g.every((s) => s.gender === 'm') ? 2 : 1);
      const byGender = [...groups].sort((a, b) => mix(a) - mix(b));
      const dealt: number[][] = Array.from({ length: k }, () => []);
      byGender.forEach((_, i) => dealt[i % k].push(i));
      return { units: byGender, tests: dealt, unitName: 'groups' };
    }
    case 'pairs': {
      // Pairing across groups would put a group on both sides; a group of one female and one male is a pair.
      const odd = groups.find((g) => g.length !== 2 || g[0].gender === g[1].gender);
      if (odd) {
        const group = odd[0].group ?? odd[0].id;
        throw new Error(`folds: 'pairs' with grouped speakers needs every group to be one female and one male speaker, but group "${group}" holds ${odd.map((s) => `${s.id} (${s.gender})`).join(', ')}`);
      }
      return { units: groups, tests, unitName: 'groups' };
    }
  }
}

function planSpeakers(ordered: Speaker[], scheme: FoldScheme): Plan {
  const females = ordered.filter((s) => s.gender === 'f');
  const males = ordered.filter((s) => s.gender === 'm');
  switch (scheme.kind) {
    case 'loso':
      return { units: ordered.map((s) => [s]), tests: ordered.map((_, i) => [i]), unitName: 'speakers' };
    case 'kfold': {
      const { k } = scheme;
      if (!Number.isInteger(k) || k < 2) throw new Error(`folds: kfold needs an integer k >= 2, got ${k}`);
      if (k > ordered.length) throw new Error(`folds: kfold with k=${k} needs at least ${k} speakers, got ${ordered.length}`);
      // Deal females then males round-robin, continuing where the females stopped: fold sizes
      // differ by at most one and each gender is spread as evenly as its count allows.
      const byGender = [...females, ...males];
      const tests: number[][] = Array.from({ length: k }, () => []);
      byGender.forEach((_, i) => tests[i % k].push(i));
      return { units: byGender.map((s) => [s]), tests, unitName: 'speakers' };
    }
    case 'pairs':
      if (females.length !== males.length) {
        throw new Error(`folds: 'pairs' needs as many female as male speakers to pair them, got ${females.length} f and ${males.length} m`);
      }
      return { units: females.map((f, i) => [f, males[i]]), tests: females.map((_, i) => [i]), unitName: 'pairs' };
  }
}

/**
 * Picks `count` validation units among those not tested: least-used first, so validation duty
 * rotates across folds, ties broken by cyclic distance after the test units. For single speakers
 * genders alternate (starting gender alternating by fold) to balance validation sets.
 */
function pickValidation(units: Speaker[][], tested: number[], foldIndex: number, count: number, uses: number[]): number[] {
  const start = tested[0];
  const distance = (i: number) => (i - start + units.length) % units.length;
  const candidates = units
    .map((_, i) => i)
    .filter((i) => !tested.includes(i))
    .sort((a, b) => uses[a] - uses[b] || distance(a) - distance(b));
  const singleSpeakers = units.every((u) => u.length === 1);
  const picked: number[] = [];
  let wantGender: 'f' | 'm' = foldIndex % 2 === 0 ? 'f' : 'm';
  while (picked.length < count) {
    const remaining = candidates.filter((i) => !picked.includes(i));
    const ofGender = singleSpeakers ? remaining.find((i) => units[i][0].gender === wantGender) : undefined;
    picked.push(ofGender ?? remaining[0]);
    wantGender = wantGender === 'f' ? 'm' : 'f';
  }
  for (const i of picked) uses[i]++;
  return picked;
}

export function speakerFolds(speakers: Speaker[], scheme: FoldScheme, opts: FoldOptions = {}): Fold[] {
  const distinctIds = new Set(speakers.map((s) => s.id)).size;
  if (distinctIds !== speakers.length) throw new Error(`folds: speaker ids must be unique (${speakers.length} speakers, ${distinctIds} distinct ids)`);
  if (speakers.length < 3) throw new Error(`folds: need at least 3 speakers (train, validation, test), got ${speakers.length}`);
  const validationCount = opts.validationSpeakers ?? 1;
  if (!Number.isInteger(validationCount) || validationCount < 0) {
    throw new Error(`folds: validationSpeakers must be a non-negative integer, got ${validationCount}`);
  }

  const { units, tests, unitName } = plan(orderGroups(speakers, opts.seed), scheme);
  const mostTested = Math.max(...tests.map((t) => t.length));
  if (validationCount > units.length - mostTested - 1) {
    throw new Error(
      `folds: ${validationCount} validation ${unitName} per fold leave no training ${unitName}: ` +
        `${units.length} ${unitName} in all, up to ${mostTested} tested per fold`,
    );
  }

  // Speaker lists are reported in natural id order, whatever the seed, for readable logs.
  const idsOf = (indices: number[]): string[] => indices.flatMap((i) => units[i].map((s) => s.id)).sort(naturalOrder);
  const uses = units.map(() => 0);
  return tests.map((tested, index) => {
    const validation = pickValidation(units, tested, index, validationCount, uses);
    const train = units.map((_, i) => i).filter((i) => !tested.includes(i) && !validation.includes(i));
    return { index, trainSpeakers: idsOf(train), validationSpeakers: idsOf(validation), testSpeakers: idsOf(tested) };
  });
}
