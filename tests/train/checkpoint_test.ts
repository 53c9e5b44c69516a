/**
 * Checkpoints taken after an epoch and inside one (`checkpointSteps`): the state round-trips, a
 * latest.json or state.json that does not describe one is refused by name, and pruning keeps the
 * current checkpoint and the epochs asked for.
 */
import { assertEquals, assertRejects } from "../_assert.ts";
import { resnet18 } from "../../mod.ts";
import {
  checkpointName,
  loadCheckpoint,
  pruneCheckpoints,
  saveCheckpoint,
  stepCheckpointName,
  type TrainingState,
} from "../../lib/train/checkpoint.ts";
import { sgd } from "../../lib/train/sgd.ts";
import { setup } from "../_helpers.ts";

await setup();

const INSIDE: TrainingState = {
  epoch: 2,
  step: 27,
  best: { epoch: 2, valPgd: 0.25 },
  inEpoch: { epoch: 3, startStep: 20, lossSum: 1234.5678901234567, correct: 300, seen: 896, lr: 0.0123, seconds: 41.5 },
};

/** A run directory holding one checkpoint of a width-1 model with `state`. */
async function runWith(state: TrainingState): Promise<string> {
  const dir = await Deno.makeTempDir();
  const model = resnet18({ width: 1, seed: 1 });
  const optimiser = sgd(model.trainableVariables);
  await saveCheckpoint(dir, model, optimiser, state);
  optimiser.dispose();
  model.dispose();
  return dir;
}

Deno.test("saveCheckpoint() inside an epoch names it by step and loadCheckpoint() gives its state back exactly", async () => {
  const dir = await runWith(INSIDE);
  const latest = JSON.parse(await Deno.readTextFile(`${dir}/latest.json`));
  assertEquals(latest.checkpoint, stepCheckpointName(27));
  assertEquals(latest.checkpoint, "checkpoints/step-000027");
  const checkpoint = (await loadCheckpoint(dir))!;
  assertEquals(checkpoint.state, INSIDE);
  checkpoint.model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadCheckpoint() refuses a state that does not fit its checkpoint, naming the file", async (t) => {
  const cases: [string, (s: TrainingState) => unknown][] = [
    ["an epoch in progress that is not the next", (s) => ({ ...s, inEpoch: { ...s.inEpoch, epoch: 5 } })],
    ["a start after the step", (s) => ({ ...s, inEpoch: { ...s.inEpoch, startStep: 27 } })],
    ["more right than seen", (s) => ({ ...s, inEpoch: { ...s.inEpoch, correct: 900 } })],
    ["a loss that is not a number", (s) => ({ ...s, inEpoch: { ...s.inEpoch, lossSum: "x" } })],
    ["a step checkpoint without its epoch's progress", ({ inEpoch: _, ...s }) => s],
  ];
  for (const [name, damage] of cases) {
    await t.step(name, async () => {
      const dir = await runWith(INSIDE);
      const file = `${dir}/${stepCheckpointName(27)}/state.json`;
      await Deno.writeTextFile(file, JSON.stringify(damage(INSIDE)));
      await assertRejects(() => loadCheckpoint(dir), new RegExp(`Cannot resume as ${file} is not a training state`));
      await Deno.remove(dir, { recursive: true });
    });
  }
  await t.step("an epoch checkpoint with an epoch in progress", async () => {
    const { inEpoch: _, ...after } = INSIDE;
    const dir = await runWith(after);
    const file = `${dir}/${checkpointName(2)}/state.json`;
    await Deno.writeTextFile(file, JSON.stringify(INSIDE));
    await assertRejects(() => loadCheckpoint(dir), /is not a training state/);
    await Deno.remove(dir, { recursive: true });
  });
  await t.step("latest.json naming something else", async () => {
    const dir = await runWith(INSIDE);
    await Deno.writeTextFile(`${dir}/latest.json`, JSON.stringify({ checkpoint: "checkpoints/step-27x" }));
    await assertRejects(
      () => loadCheckpoint(dir),
      /names no checkpoint of the form checkpoints\/epoch-NNN or checkpoints\/step-NNNNNN: current value is checkpoints\/step-27x/,
    );
    await Deno.remove(dir, { recursive: true });
  });
});

Deno.test("pruneCheckpoints() keeps the current checkpoint and every n-th epoch's, and no step checkpoint but the current", async () => {
  const dir = await Deno.makeTempDir();
  const names = ["epoch-000", "epoch-001", "epoch-002", "epoch-004", "step-000010", "step-000012", "other"];
  for (const name of names) await Deno.mkdir(`${dir}/checkpoints/${name}`, { recursive: true });
  const left = async () => (await Array.fromAsync(Deno.readDir(`${dir}/checkpoints`))).map((e) => e.name).sort();
  await pruneCheckpoints(dir, stepCheckpointName(12), 2);
  assertEquals(await left(), ["epoch-002", "epoch-004", "other", "step-000012"]);
  await pruneCheckpoints(dir, checkpointName(5), 0);
  assertEquals(await left(), ["other"]); // epoch-005 was not written here: only what matches goes
  await Deno.remove(dir, { recursive: true });
});
