import { assert, assertEquals } from "../_assert.ts";
import { HAS_SHARED_DATA, SHARED_DATA } from "../_helpers.ts";

const TRAIN_CLI = new URL("../../cli/train.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

/** Flags of a small PGD run: 6 steps per epoch, 3 epochs, a batch line in metrics.jsonl every 2 steps. */
function runFlags(runDir: string): string[] {
  return [
    "--objective=pgd",
    "--attack-steps=2",
    `--data=${SHARED_DATA}`,
    "--train-size=448",
    "--val-size=64",
    "--epochs=3",
    "--batch-size=64",
    "--width=4",
    "--val-pgd-steps=2",
    "--log-every=1",
    "--metrics-every=2",
    `--run=${runDir}`,
  ];
}

/** Starts `deno run -A cli/train.ts ...args` (in directory `cwd`), piping stdout. */
function spawnTrain(args: string[], cwd?: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `--config=${CONFIG}`, TRAIN_CLI, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Runs the CLI to the end; throws with its stderr if it fails. */
async function runTrain(args: string[], cwd?: string): Promise<string> {
  const out = await spawnTrain(args, cwd).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`train failed: ${new TextDecoder().decode(out.stderr)}\n${text}`);
  return text;
}

/** Runs the CLI with `args` and SIGKILLs it once it has logged epoch 2's step `step` (of 18). */
async function trainKilledAt(args: string[], step: number): Promise<void> {
  const child = spawnTrain(args);
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!new RegExp(`epoch 2/3 step ${step}/18`).test(seen)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the run ended before step ${step}: ${seen}`);
    seen += value;
  }
  child.kill("SIGKILL");
  assertEquals((await child.status).signal, "SIGKILL");
  await reader.cancel().catch(() => {});
  await child.stderr.cancel().catch(() => {});
}

/** The final checkpoint's weights and optimiser state as floats. */
async function finalState(runDir: string): Promise<{ weights: Float32Array; optimizer: Float32Array }> {
  const latest = JSON.parse(await Deno.readTextFile(`${runDir}/latest.json`));
  const dir = `${runDir}/${latest.checkpoint}`;
  const manifest = JSON.parse(await Deno.readTextFile(`${dir}/model.json`));
  const weights = await Deno.readFile(`${dir}/${manifest.weightsFile}`);
  const optimizer = await Deno.readFile(`${dir}/optimizer.bin`);
  return { weights: new Float32Array(weights.buffer), optimizer: new Float32Array(optimizer.buffer) };
}

/** Parsed metrics lines without the wall-clock fields, which differ between runs. */
async function metricLines(runDir: string) {
  return (await Deno.readTextFile(`${runDir}/metrics.jsonl`)).trim().split("\n").map((line) => {
    const { seconds: _s, imagesPerSecond: _i, numTensors: _n, ...rest } = JSON.parse(line);
    return rest;
  });
}

Deno.test({
  name:
    "train --resume after SIGKILL mid-epoch, of the run moved and named by a relative path with a slash, equals the uninterrupted run; no metrics line is lost or doubled",
  ignore: !HAS_SHARED_DATA,
  sanitizeResources: false,
  fn: async () => {
    let killedDir = await Deno.makeTempDir();
    const fullDir = await Deno.makeTempDir();
    // 1. Start a run and SIGKILL it in the middle of epoch 2 (after step 9 of steps 7..12).
    await trainKilledAt(runFlags(killedDir), 9);
    const interrupted = JSON.parse(await Deno.readTextFile(`${killedDir}/latest.json`));
    assertEquals(interrupted.epoch, 1, "the latest checkpoint at the kill is epoch 1's");
    // 2. Move it, resume it to the end from its new place by a relative path ending in a slash (a run
    //    is the same run wherever it is named from), and run the same config uninterrupted elsewhere.
    const parent = await Deno.makeTempDir();
    await Deno.rename(killedDir, `${parent}/moved`);
    killedDir = `${parent}/moved`;
    const resumedLog = await runTrain(["--resume=./moved/", `--data=${SHARED_DATA}`], parent);
    assert(resumedLog.includes("resuming"), resumedLog);
    await runTrain(runFlags(fullDir));
    // 3. Byte for byte the same weights and momentum buffers, the same metrics lines, each once.
    const [a, b] = [await finalState(killedDir), await finalState(fullDir)];
    assertEquals(a.weights, b.weights, "weights differ: not byte-identical");
    assertEquals(a.optimizer, b.optimizer, "momentum buffers differ: not byte-identical");
    const [resumedLines, fullLines] = [await metricLines(killedDir), await metricLines(fullDir)];
    assertEquals(
      resumedLines.map((l) => `${l.kind} ${l.kind === "batch" ? l.step : l.epoch}`),
      [
        ...["batch 2", "batch 4", "batch 6", "epoch 1"],
        ...["batch 8", "batch 10", "batch 12", "epoch 2"],
        ...["batch 14", "batch 16", "batch 18", "epoch 3"],
      ],
    );
    assertEquals(resumedLines, fullLines);
    await Deno.remove(parent, { recursive: true });
    await Deno.remove(fullDir, { recursive: true });
  },
});

Deno.test({
  name:
    "train --checkpoint-steps: a run killed inside an epoch resumes from its last step, equals the uninterrupted run, and keeps only the epoch's checkpoint at the end",
  ignore: !HAS_SHARED_DATA,
  sanitizeResources: false,
  fn: async () => {
    const killedDir = await Deno.makeTempDir();
    const fullDir = await Deno.makeTempDir();
    // 1. A checkpoint after every step; SIGKILL once step 8 (the second of epoch 2, steps 7..12) is logged.
    await trainKilledAt([...runFlags(killedDir), "--checkpoint-steps=1"], 8);
    const latest = JSON.parse(await Deno.readTextFile(`${killedDir}/latest.json`));
    assert(
      /^checkpoints\/step-\d{6}$/.test(latest.checkpoint),
      `not a checkpoint inside an epoch: ${latest.checkpoint}`,
    );
    assert(latest.step >= 7 && latest.step < 12, `the kill came at step ${latest.step}, not inside epoch 2`);
    assertEquals([latest.epoch, latest.inEpoch.epoch, latest.inEpoch.startStep], [1, 2, 6]);
    // 2. Resume (another checkpoint interval: a resume may change it) and run the same config uninterrupted
    //    without checkpoints inside epochs.
    const resumedLog = await runTrain([`--resume=${killedDir}`, `--data=${SHARED_DATA}`, "--checkpoint-steps=4"]);
    assert(resumedLog.includes(`in epoch 2, after step ${latest.step}`), resumedLog);
    await runTrain(runFlags(fullDir));
    // 3. Byte for byte the same weights and momentum buffers, the same metrics lines; only the last epoch's checkpoint is left.
    const [a, b] = [await finalState(killedDir), await finalState(fullDir)];
    assertEquals(a.weights, b.weights, "weights differ: not byte-identical");
    assertEquals(a.optimizer, b.optimizer, "momentum buffers differ: not byte-identical");
    assertEquals(await metricLines(killedDir), await metricLines(fullDir));
    const left = (await Array.fromAsync(Deno.readDir(`${killedDir}/checkpoints`))).map((e) => e.name);
    assertEquals(left, ["epoch-003"]);
    await Deno.remove(killedDir, { recursive: true });
    await Deno.remove(fullDir, { recursive: true });
  },
});
