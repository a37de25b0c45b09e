import { expect, it } from 'vitest';
import * as ser from '../src/index.js';

// A training loop must not grow device memory: after warm-up, 10,000 forward/backward/update steps of a
// small conv net leave the pool's live and allocated buffer counts and bytes where they were.
it('10,000 training steps of a small conv net keep live GPU buffers and bytes flat', async () => {
  const engine = await ser.init();
  const random = ser.seededRandom(5);
  const conv = new ser.Conv1d(1, 4, 5, { stride: 2, padding: 2 }, random);
  const norm = new ser.BatchNorm1d(4);
  const head = new ser.Linear(4, 3, random);
  const params = [...conv.parameters(), ...norm.parameters(), ...head.parameters()];
  const adam = new ser.Adam(params, { lr: 1e-3 });
  const x = ser.tensor(Float32Array.from({ length: 2 * 33 }, (_, i) => Math.sin(i)), [2, 1, 33]).keep();
  const targets = new Int32Array([0, 2]);
  const step = () => {
    const loss = ser.tidy(() => {
      const h = ser.maxPool1d(ser.relu(norm.forward(conv.forward(x))), { kernelSize: 2 });
      return ser.crossEntropy(head.forward(ser.mean(h, 2)), targets);
    });
    loss.backwardSync();
    adam.step();
    adam.zeroGrad();
    loss.dispose();
  };
  for (let i = 0; i < 50; i++) step();
  await engine.runtime!.sync();
  const before = engine.backend.counters();
  for (let i = 0; i < 10_000; i++) {
    step();
    if (i % 500 === 499) await engine.runtime!.sync();
  }
  await engine.runtime!.sync();
  const after = engine.backend.counters();
  expect(after.liveBuffers).toBe(before.liveBuffers);
  expect(after.liveBytes).toBe(before.liveBytes);
  expect(after.allocatedBuffers).toBe(before.allocatedBuffers);
  expect(after.allocatedBytes).toBe(before.allocatedBytes);
}, 600_000);
