// A lost WebGPU device (here destroyed, as a driver reset or a GPU removed would lose it): every later use of its
// tensors throws an error that says so, where WebGPU itself carries on silently, and init() gives a new device.
// A file of its own: the device it destroys is this test process's.
import { describe, expect, it } from 'vitest';
import * as ser from '../src/index.js';

describe('a lost device', () => {
  it('makes its tensors throw "device was lost", and init() then gives a new device that works', async () => {
    const first = await ser.init();
    const x = ser.tensor([-1, 2, -3, 4], [4]);
    expect(Array.from(await ser.relu(x).toArray())).toEqual([0, 2, 0, 4]);
    first.runtime!.device.destroy();
    await new Promise((ok) => setTimeout(ok, 50)); // device.lost settles
    expect(() => ser.relu(x)).toThrow(/device was lost \(destroyed/);
    await expect(x.toArray()).rejects.toThrow(/device was lost/);
    await expect(first.runtime!.sync()).rejects.toThrow(/device was lost/);
    const second = await ser.init();
    expect(second.runtime).not.toBe(first.runtime);
    const y = ser.tensor([-5, 6], [2]);
    expect(Array.from(await ser.relu(y).toArray())).toEqual([0, 6]);
  });
});
