// A lost WebGPU device (here destroyed, as a driver reset or a GPU removed would lose it): every later use of its
// tensors throws an error that says so, where WebGPU itself carries on silently, and init() gives a new device
// (and so does loadRecognizer(), which starts the engine itself).
// A file of its own: the device it destroys is this test process's.
import { describe, expect, it } from 'vitest';
import * as ser from '../src/index.js';
import { compactModelConfig } from '../src/model/config.js';
import { encodeModel } from '../src/model/model-file.js';
import { SerModel } from '../src/model/ser-model.js';
import { SYNTHETIC_CLASSES, makeVoice, synthesizeUtterance } from '../src/train/synthetic.js';

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

  it('makes loadRecognizer() start a new device, as its message says init() does, rather than load onto the lost one', async () => {
    const model = new SerModel(compactModelConfig(SYNTHETIC_CLASSES), 5);
    const bytes = await encodeModel(model);
    model.dispose();
    (await ser.init()).runtime!.device.destroy();
    await new Promise((ok) => setTimeout(ok, 50));
    const recognizer = await ser.loadRecognizer(bytes);
    const r = await recognizer.classify(synthesizeUtterance(makeVoice(0, 7), 'angry', 11, 1.5, 16000), 16000);
    expect(Object.keys(r.probabilities)).toEqual(SYNTHETIC_CLASSES);
    recognizer.dispose();
  });

  it('makes a recognizer loaded before the loss say so once a new device is running, not "on webgpu but on webgpu"', async () => {
    // A service's recognizer outlives the device; something (another loadRecognizer, init()) starts a new one, and
    // the old recognizer's input goes onto the new device while its weights are on the lost one.
    const model = new SerModel(compactModelConfig(SYNTHETIC_CLASSES), 5);
    const bytes = await encodeModel(model);
    model.dispose();
    const old = await ser.loadRecognizer(bytes);
    const speech = synthesizeUtterance(makeVoice(0, 7), 'angry', 11, 1.5, 16000);
    (await ser.init()).runtime!.device.destroy();
    await new Promise((ok) => setTimeout(ok, 50));
    const fresh = await ser.loadRecognizer(bytes);
    await expect(old.classify(speech, 16000)).rejects.toThrow(/^the WebGPU device was lost \(destroyed.*init\(\) again for a new device/);
    expect(Object.keys((await fresh.classify(speech, 16000)).probabilities)).toEqual(SYNTHETIC_CLASSES);
    old.dispose();
    fresh.dispose();
  });
});
