// Speaker-independent folds: partition invariants for every scheme, gender balance, validation
// rotation, determinism, and clear errors for impossible requests.

import { describe, expect, it } from 'vitest';
import { corpusSpeakers, speakerFolds, type Fold, type FoldScheme } from '../src/train/folds.js';

// EMO-DB's ten speakers.
const emodb: { id: string; gender: 'f' | 'm' }[] = [
  { id: '03', gender: 'm' },
  { id: '08', gender: 'f' },
  { id: '09', gender: 'f' },
  { id: '10', gender: 'm' },
  { id: '11', gender: 'm' },
  { id: '12', gender: 'm' },
  { id: '13', gender: 'f' },
  { id: '14', gender: 'f' },
  { id: '15', gender: 'm' },
  { id: '16', gender: 'f' },
];
const speakers = emodb.map((s) => ({ ...s }));
const genderOf = new Map(speakers.map((s) => [s.id, s.gender]));
const countGender = (ids: string[], g: 'f' | 'm') => ids.filter((id) => genderOf.get(id) === g).length;

function expectPartition(folds: Fold[], all: string[], validationPerFold: number): void {
  const tested = folds.flatMap((f) => f.testSpeakers);
  expect([...tested].sort()).toEqual([...all].sort()); // each speaker tested exactly once
  folds.forEach((fold, i) => {
    expect(fold.index).toBe(i);
    const sets = [fold.trainSpeakers, fold.validationSpeakers, fold.testSpeakers];
    const union = sets.flat();
    expect(new Set(union).size).toBe(union.length); // disjoint
    expect([...union].sort()).toEqual([...all].sort()); // nobody dropped
    expect(fold.validationSpeakers.length).toBe(validationPerFold);
    expect(fold.trainSpeakers.length).toBeGreaterThan(0);
  });
}

const allIds = speakers.map((s) => s.id);

describe('invariants hold for every scheme, seed and validation size', () => {
  const cases: [FoldScheme, number, number][] = [
    [{ kind: 'loso' }, 1, 1],
    [{ kind: 'loso' }, 3, 3],
    [{ kind: 'kfold', k: 5 }, 1, 1],
    [{ kind: 'kfold', k: 3 }, 2, 2],
    [{ kind: 'kfold', k: 10 }, 0, 0],
    [{ kind: 'pairs' }, 1, 2],
    [{ kind: 'pairs' }, 2, 4],
  ];
  for (const [scheme, validation, validationSpeakers] of cases) {
    for (const seed of [undefined, 1, 7, 12345]) {
      it(`${JSON.stringify(scheme)}, ${validation} validation, seed ${seed}`, () => {
        expectPartition(speakerFolds(speakers, scheme, { validationSpeakers: validation, seed }), allIds, validationSpeakers);
      });
    }
  }
});

describe('leave one speaker out', () => {
  const folds = speakerFolds(speakers, { kind: 'loso' });

  it('has one fold per speaker, in natural id order without a seed', () => {
    expect(folds.map((f) => f.testSpeakers)).toEqual(allIds.map((id) => [id]));
  });

  it('alternates validation gender by fold and rotates validation duty evenly', () => {
    expect(folds.map((f) => genderOf.get(f.validationSpeakers[0]))).toEqual(['f', 'm', 'f', 'm', 'f', 'm', 'f', 'm', 'f', 'm']);
    const duty = new Map<string, number>();
    for (const f of folds) for (const id of f.validationSpeakers) duty.set(id, (duty.get(id) ?? 0) + 1);
    expect([...duty.values()].every((n) => n === 1)).toBe(true);
    expect(duty.size).toBe(10);
  });

  it('balances genders in larger validation sets', () => {
    for (const fold of speakerFolds(speakers, { kind: 'loso' }, { validationSpeakers: 2 })) {
      expect(countGender(fold.validationSpeakers, 'f')).toBe(1);
    }
  });

  it('falls back to the other gender when one runs out', () => {
    const mostlyMale = [
      { id: 'a', gender: 'f' as const },
      { id: 'b', gender: 'm' as const },
      { id: 'c', gender: 'm' as const },
      { id: 'd', gender: 'm' as const },
    ];
    const folds = speakerFolds(mostlyMale, { kind: 'loso' }, { validationSpeakers: 2 });
    expectPartition(folds, ['a', 'b', 'c', 'd'], 2);
    expect(folds[0].validationSpeakers).toEqual(['b', 'c']); // the only female is being tested
    expect(folds[1].validationSpeakers).toContain('a');
  });
});

describe('k-fold over speakers', () => {
  it('k=5 on EMO-DB gives one female and one male per test fold', () => {
    for (const seed of [undefined, 3, 99]) {
      for (const fold of speakerFolds(speakers, { kind: 'kfold', k: 5 }, { seed })) {
        expect(fold.testSpeakers.length).toBe(2);
        expect(countGender(fold.testSpeakers, 'f')).toBe(1);
      }
    }
  });

  it('k=3 spreads sizes and genders as evenly as the counts allow', () => {
    const folds = speakerFolds(speakers, { kind: 'kfold', k: 3 }, { seed: 5 });
    const sizes = folds.map((f) => f.testSpeakers.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    for (const g of ['f', 'm'] as const) {
      const counts = folds.map((f) => countGender(f.testSpeakers, g));
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
  });

  it('k equal to the speaker count is leave-one-speaker-out', () => {
    const folds = speakerFolds(speakers, { kind: 'kfold', k: 10 });
    expect(folds.every((f) => f.testSpeakers.length === 1)).toBe(true);
  });
});

describe('leave one male/female pair out', () => {
  const folds = speakerFolds(speakers, { kind: 'pairs' });

  it('gives five folds, each testing and validating on one female and one male', () => {
    expect(folds.length).toBe(5);
    for (const fold of folds) {
      expect(countGender(fold.testSpeakers, 'f')).toBe(1);
      expect(countGender(fold.testSpeakers, 'm')).toBe(1);
      expect(countGender(fold.validationSpeakers, 'f')).toBe(1);
      expect(countGender(fold.validationSpeakers, 'm')).toBe(1);
      expect(fold.trainSpeakers.length).toBe(6);
    }
  });

  it('pairs speakers in natural id order without a seed, and rotates the validation pair', () => {
    expect(folds.map((f) => f.testSpeakers)).toEqual([
      ['03', '08'],
      ['09', '10'],
      ['11', '13'],
      ['12', '14'],
      ['15', '16'],
    ]);
    // Every pair validates exactly once: the next pair along.
    expect(folds.map((f) => f.validationSpeakers)).toEqual([
      ['09', '10'],
      ['11', '13'],
      ['12', '14'],
      ['15', '16'],
      ['03', '08'],
    ]);
  });
});

describe('grouped speakers (IEMOCAP: the two actors of a session)', () => {
  const sessions = [1, 2, 3, 4, 5].flatMap((n) => (['F', 'M'] as const).map((g) => ({ id: `Ses0${n}${g}`, gender: g === 'F' ? ('f' as const) : ('m' as const), group: `Ses0${n}` })));
  const groupOf = (id: string) => id.slice(0, 5);
  const testedSessions = (folds: Fold[]) => folds.map((f) => [...new Set(f.testSpeakers.map(groupOf))].join('+'));

  it('never puts a group on two sides of a fold, whatever the scheme, seed or validation size', () => {
    for (const scheme of [{ kind: 'loso' }, { kind: 'kfold', k: 5 }, { kind: 'kfold', k: 2 }, { kind: 'pairs' }] as FoldScheme[]) {
      for (const seed of [undefined, 1, 2, 7]) {
        for (const validation of scheme.kind === 'kfold' && scheme.k === 2 ? [0, 1] : [0, 1, 2]) {
          const folds = speakerFolds(sessions, scheme, { seed, validationSpeakers: validation });
          expectPartition(folds, sessions.map((s) => s.id), 2 * validation); // validation counts groups
          for (const fold of folds) {
            const test = new Set(fold.testSpeakers.map(groupOf));
            const validating = new Set(fold.validationSpeakers.map(groupOf));
            for (const id of [...fold.trainSpeakers, ...fold.validationSpeakers]) expect(test.has(groupOf(id))).toBe(false);
            for (const id of fold.trainSpeakers) expect(validating.has(groupOf(id))).toBe(false);
          }
        }
      }
    }
  });

  it('leaves one session out under the default 5 folds, loso and pairs (seed 1 once paired across sessions)', () => {
    for (const scheme of [{ kind: 'kfold', k: 5 }, { kind: 'loso' }, { kind: 'pairs' }] as FoldScheme[]) {
      const folds = speakerFolds(sessions, scheme, { seed: 1, validationSpeakers: 0 });
      expect(folds.map((f) => f.testSpeakers.length)).toEqual([2, 2, 2, 2, 2]);
      expect([...testedSessions(folds)].sort()).toEqual(['Ses01', 'Ses02', 'Ses03', 'Ses04', 'Ses05']);
    }
    expect(testedSessions(speakerFolds(sessions, { kind: 'loso' }))).toEqual(['Ses01', 'Ses02', 'Ses03', 'Ses04', 'Ses05']);
  });

  it('refuses what groups cannot give, naming the group', () => {
    expect(() => speakerFolds(sessions, { kind: 'kfold', k: 6 })).toThrow('kfold with k=6 needs at least 6 speaker groups (a group is never split between training and test), got 5');
    const lone = [...sessions.filter((s) => s.id !== 'Ses03M'), { id: 'Ses03M', gender: 'm' as const, group: 'Ses03x' }];
    expect(() => speakerFolds(lone, { kind: 'pairs' })).toThrow(`'pairs' with grouped speakers needs every group to be one female and one male speaker, but group "Ses03" holds Ses03F (f)`);
    expect(() => speakerFolds(sessions, { kind: 'loso' }, { validationSpeakers: 4 })).toThrow('4 validation groups per fold leave no training groups: 5 groups in all, up to 1 tested per fold');
  });

  it("corpusSpeakers reads each speaker's group, and refuses a speaker in two groups, naming it and the files", () => {
    const utt = (file: string, speaker: string, group?: string) => ({ file, speaker, gender: 'f' as const, group });
    expect(corpusSpeakers([utt('a.wav', 's1', 'g1'), utt('b.wav', 's2'), utt('c.wav', 's1', 'g1')])).toEqual([
      { id: 's1', gender: 'f', group: 'g1' },
      { id: 's2', gender: 'f' },
    ]);
    expect(() => corpusSpeakers([utt('a.wav', 's1', 'g1'), utt('b.wav', 's1', 'g2')])).toThrow('speaker "s1" is in split group "g1" (a.wav) and "g2" (b.wav): a speaker belongs to one group');
  });
});

describe('determinism', () => {
  it('the same seed gives the same folds, whatever the input order', () => {
    const shuffled = [...speakers].reverse();
    for (const scheme of [{ kind: 'loso' }, { kind: 'kfold', k: 4 }, { kind: 'pairs' }] as FoldScheme[]) {
      expect(speakerFolds(shuffled, scheme, { seed: 11 })).toEqual(speakerFolds(speakers, scheme, { seed: 11 }));
    }
  });

  it('different seeds give different splits', () => {
    const splits = new Set([1, 2, 3, 4, 5].map((seed) => JSON.stringify(speakerFolds(speakers, { kind: 'kfold', k: 5 }, { seed }))));
    expect(splits.size).toBeGreaterThan(1);
  });
});

describe('impossible requests throw errors naming the numbers', () => {
  const three = speakers.slice(0, 3);

  it('too few speakers', () => {
    expect(() => speakerFolds(speakers.slice(0, 2), { kind: 'loso' })).toThrow('need at least 3 speakers (train, validation, test), got 2');
  });

  it('k out of range', () => {
    expect(() => speakerFolds(speakers, { kind: 'kfold', k: 11 })).toThrow('kfold with k=11 needs at least 11 speakers, got 10');
    expect(() => speakerFolds(speakers, { kind: 'kfold', k: 1 })).toThrow('kfold needs an integer k >= 2, got 1');
    expect(() => speakerFolds(three, { kind: 'kfold', k: 2 })).toThrow(
      '1 validation speakers per fold leave no training speakers: 3 speakers in all, up to 2 tested per fold',
    );
  });

  it('pairs with unequal genders', () => {
    const unequal = speakers.filter((s) => s.id !== '03' && s.id !== '10');
    expect(() => speakerFolds(unequal, { kind: 'pairs' })).toThrow("'pairs' needs as many female as male speakers to pair them, got 5 f and 3 m");
  });

  it('too many validation speakers or pairs', () => {
    expect(() => speakerFolds(speakers, { kind: 'pairs' }, { validationSpeakers: 4 })).toThrow(
      '4 validation pairs per fold leave no training pairs: 5 pairs in all, up to 1 tested per fold',
    );
    expect(() => speakerFolds(speakers, { kind: 'loso' }, { validationSpeakers: 9 })).toThrow(/9 validation speakers per fold leave no training speakers/);
    expect(() => speakerFolds(speakers, { kind: 'loso' }, { validationSpeakers: -1 })).toThrow(/non-negative integer, got -1/);
  });

  it('duplicate speaker ids', () => {
    expect(() => speakerFolds([...three, { id: '03', gender: 'f' }], { kind: 'loso' })).toThrow('speaker ids must be unique (4 speakers, 3 distinct ids)');
  });
});
