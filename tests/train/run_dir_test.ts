/**
 * The run directory and the resume policy (`lib/train/run_dir.ts`) through `train()`, on generated
 * CIFAR-format data: every refusal happens before any file is written or removed.
 */
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { tf } from "../../mod.ts";
import { train } from "../../lib/train/train.ts";
import { resolveConfig, type TrainConfig } from "../../lib/train/config.ts";
import { runInDirectory } from "../../lib/train/run_files.ts";
import { sha256Hex } from "../../lib/io/sha256.ts";
import { LOCK_FILE } from "../../lib/io/lock.ts";
import { records, setup } from "../_helpers.ts";

await setup();

/** A data directory in the official layout: data_batch_1.bin with n records, the four others with 4 each. */
async function dataDir(n: number, salt = 0): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/data_batch_1.bin`, records(n, salt));
  for (const k of [2, 3, 4, 5]) await Deno.writeFile(`${dir}/data_batch_${k}.bin`, records(4, salt + k));
  return dir;
}

/** Every file under dir with the SHA-256 of its bytes: equal snapshots mean nothing was touched. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) {
      for (const [k, v] of Object.entries(await snapshot(path))) out[k] = v;
    } else out[path] = await sha256Hex(await Deno.readFile(path));
  }
  return out;
}

const DATA = await dataDir(96);

/** A one-epoch width-2 run on 64 + 32 generated images. */
function small(runDir: string, more: Partial<TrainConfig> = {}): Partial<TrainConfig> {
  return {
    objective: "pgd",
    dataDir: DATA,
    trainSize: 96,
    valSize: 32,
    epochs: 1,
    batchSize: 32,
    width: 2,
    attackSteps: 1,
    valPgdSteps: 1,
    runDir,
    logEvery: 0,
    ...more,
  };
}

/** A finished run in a fresh directory. */
async function finishedRun(): Promise<string> {
  const runDir = await Deno.makeTempDir();
  (await train(small(runDir))).model.dispose();
  return runDir;
}

Deno.test("train() checks every field, then the run directory, before it writes or removes a file", async (t) => {
  const runDir = await finishedRun();
  const before = await snapshot(runDir);
  const cases: [string, Partial<TrainConfig>, { overwrite?: boolean; resume?: boolean }, RegExp][] = [
    [
      "--width 0 with --overwrite",
      { width: 0 },
      { overwrite: true },
      /width must be an integer >= 1: current value is 0/,
    ],
    [
      "a bad hvp, without --overwrite",
      { haat: { hvp: "x" } as unknown as TrainConfig["haat"] },
      {},
      /Cannot run HAAT as hvp must be fd or exact: current value is x/,
    ],
    [
      "a fractional seed with --overwrite",
      { seed: 1.5 },
      { overwrite: true },
      /seed must be an integer in \[0, 2\^31\): current value is 1\.5/,
    ],
    [
      "checkpointEvery -1 on resume",
      { checkpointEvery: -1 },
      { resume: true },
      /checkpointEvery must be an integer >= 0/,
    ],
    ["valSize 0", { valSize: 0 }, { overwrite: true }, /valSize must be an integer >= 1: current value is 0/],
    [
      "more images than the data holds",
      { trainSize: 500 },
      { overwrite: true },
      /trainSize asks for 500 images: .* holds 112/,
    ],
    [
      "the same run again without --resume",
      {},
      {},
      /already holds this run: pass --resume .* to continue it, or --overwrite/,
    ],
    ["another run without --overwrite", { width: 3 }, {}, /holds a different run \(width \(3 here, 2 in the run\)\)/],
    [
      "resume with other settings",
      { epochs: 5, width: 8 },
      { resume: true },
      /Cannot resume .* with a different config: epochs \(5 here, 1 in the run\), width \(8 here, 2 in the run\)/,
    ],
    ["resume and overwrite at once", {}, { resume: true, overwrite: true }, /Cannot both resume and overwrite/],
  ];
  for (const [name, change, options, pattern] of cases) {
    await t.step(name, async () => {
      const numTensors = tf.memory().numTensors;
      await assertRejects(() => train(small(runDir, change), options), pattern);
      assertEquals(await snapshot(runDir), before);
      assertEquals(tf.memory().numTensors, numTensors, "no tensor left by the refusal");
    });
  }
  await t.step("resume on other data (same file names, other records)", async () => {
    const other = await dataDir(96, 1);
    await assertRejects(
      () => train(small(runDir, { dataDir: other }), { resume: true }),
      /is not the data the run was trained on \(read here: data_batch_1\.bin: first 96 records, SHA-256 [0-9a-f]{16}; the run read: data_batch_1\.bin: first 96 records/,
    );
    assertEquals(await snapshot(runDir), before);
    await Deno.remove(other, { recursive: true });
  });
  await t.step("a run directory that is a regular file", async () => {
    await assertRejects(() => train(small(`${runDir}/config.json`)), /it is not a directory/);
  });
  await t.step("a resume without a run directory", async () => {
    await assertRejects(() => train(small(""), { resume: true }), /Cannot resume as no run directory is given/);
  });
  await Deno.remove(runDir, { recursive: true });
});

Deno.test("train() resume of a run named or moved anywhere: the same run, and a finished run stays as it was", async () => {
  const runDir = await finishedRun();
  const moved = `${runDir}-moved`;
  await Deno.rename(runDir, moved);
  const before = await snapshot(moved);
  const summary = await train(small(`${moved}/`, { logEvery: 3 }), { resume: true });
  assertEquals(summary.epochs.map((e) => e.epoch), [1]);
  summary.model.dispose();
  assertEquals(await snapshot(moved), before);
  await Deno.remove(moved, { recursive: true });
});

Deno.test("train() resume refuses a damaged metrics.jsonl (a line not JSON, an epoch missing) instead of dropping lines", async () => {
  const runDir = await finishedRun();
  const good = await Deno.readTextFile(`${runDir}/metrics.jsonl`);
  await Deno.writeTextFile(`${runDir}/metrics.jsonl`, good.slice(0, 40) + "\n");
  let before = await snapshot(runDir);
  const numTensors = tf.memory().numTensors;
  await assertRejects(
    () => train(small(runDir), { resume: true }),
    /metrics\.jsonl line 1 is not JSON \(the file was damaged\): .*repair or delete that line/,
  );
  assertEquals(await snapshot(runDir), before);
  await Deno.writeTextFile(`${runDir}/metrics.jsonl`, "");
  before = await snapshot(runDir);
  await assertRejects(
    () => train(small(runDir), { resume: true }),
    /metrics\.jsonl does not hold epochs 1\.\.1 once each, as the checkpoint after epoch 1 needs: it holds epochs \[\]/,
  );
  assertEquals(await snapshot(runDir), before);
  assertEquals(tf.memory().numTensors, numTensors, "the loaded checkpoint's model was freed on each refusal");
  await Deno.remove(runDir, { recursive: true });
});

Deno.test("train() resume removes temporary files left by a kill; a run without checkpoints is refused, not wiped", async () => {
  const runDir = await finishedRun();
  const leftovers = [
    `${runDir}/metrics.jsonl.tmp-77-0a1b2c3d`,
    `${runDir}/checkpoints/epoch-001/state.json.tmp-77-deadbeef`,
  ];
  for (const path of leftovers) await Deno.writeTextFile(path, "{");
  (await train(small(runDir), { resume: true })).model.dispose();
  for (const path of leftovers) await assertRejects(() => Deno.stat(path), /No such file|not found/i);
  // Checkpoints removed (as results/ runs commit only best/): refused, and metrics.jsonl is kept.
  await Deno.remove(`${runDir}/checkpoints`, { recursive: true });
  await Deno.remove(`${runDir}/latest.json`);
  const before = await snapshot(runDir);
  await assertRejects(
    () => train(small(runDir), { resume: true }),
    /has no checkpoint \(latest\.json is missing\) although metrics\.jsonl records 1 epochs: its checkpoints were removed/,
  );
  assertEquals(await snapshot(runDir), before);
  await Deno.remove(runDir, { recursive: true });
});

Deno.test("train() --overwrite removes the old run's files (best/, report.*) and keeps files it did not write", async () => {
  const runDir = await finishedRun();
  await Deno.writeTextFile(`${runDir}/report.json`, "{}");
  await Deno.writeTextFile(`${runDir}/train.log`, "log");
  await Deno.writeTextFile(`${runDir}/best/weights-0123456789abcdef.bin`, "stale");
  // Without --overwrite, a directory holding run files but no config.json is refused too.
  await Deno.remove(`${runDir}/config.json`);
  await assertRejects(
    () => train(small(runDir)),
    /holds files of a run \(metrics\.jsonl, latest\.json, checkpoints, best, report\.json\) but no config\.json/,
  );
  (await train(small(runDir, { width: 3 }), { overwrite: true })).model.dispose();
  const files = Object.keys(await snapshot(runDir)).map((p) => p.slice(runDir.length + 1)).sort();
  assert(!files.includes("report.json") && !files.includes("best/weights-0123456789abcdef.bin"), files.join(" "));
  assert(files.includes("train.log"));
  assertEquals(JSON.parse(await Deno.readTextFile(`${runDir}/best/model.json`)).config.width, 3);
  await Deno.remove(runDir, { recursive: true });
});

Deno.test("train() resumes a run whose config.json predates checksums (with dataDir and runDir, as results/ had)", async () => {
  const runDir = await finishedRun();
  const saved = JSON.parse(await Deno.readTextFile(`${runDir}/config.json`));
  delete saved.data;
  const legacy = { ...saved, dataDir: "/elsewhere/cifar10", runDir: "results/old-name" };
  await Deno.writeTextFile(`${runDir}/config.json`, JSON.stringify(legacy, null, 2));
  const before = await snapshot(runDir);
  const summary = await train(small(runDir), { resume: true });
  assertEquals(summary.epochs.map((e) => e.epoch), [1]);
  summary.model.dispose();
  assertEquals(await snapshot(runDir), before);
  await Deno.remove(runDir, { recursive: true });
});

Deno.test("runInDirectory() tells an empty directory, the same run and another run apart (the demo replaces only the same)", async () => {
  const runDir = await finishedRun();
  const config = resolveConfig(small(runDir));
  assertEquals(await runInDirectory(runDir, config), "same");
  assertEquals(await runInDirectory(runDir, { ...config, epochs: 2 }), "other");
  assertEquals(await runInDirectory(`${runDir}/nothing-here`, config), "none");
  await Deno.remove(`${runDir}/config.json`);
  assertEquals(await runInDirectory(runDir, config), "other"); // run files without a config
  await Deno.remove(runDir, { recursive: true });
});

/** Resolves once `path` exists (polling), or throws after `ms`. */
async function appears(path: string, ms: number): Promise<void> {
  for (const t0 = performance.now(); performance.now() - t0 < ms;) {
    if (await Deno.stat(path).then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${path} did not appear within ${ms} ms`);
}

Deno.test("train() refuses a second resume while a process trains the run, and resumes once that process is killed", async () => {
  const runDir = await Deno.makeTempDir();
  const config = small(runDir, { epochs: 4 });
  const cli = new URL("../../cli/train.ts", import.meta.url).pathname;
  const flags = [
    ...["--run", runDir, "--data", DATA, "--train-size", "96", "--val-size", "32", "--batch-size", "32"],
    ...["--width", "2", "--epochs", "4", "--attack-steps", "1", "--val-pgd-steps", "1", "--log-every", "0"],
  ];
  const first = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `--config=${new URL("../../deno.json", import.meta.url).pathname}`, cli, ...flags],
    stdout: "null",
    stderr: "null",
  }).spawn();
  // Once the run has its first checkpoint, it is a run a resume would continue: the lock must stop it.
  await appears(`${runDir}/latest.json`, 60_000);
  const numTensors = tf.memory().numTensors;
  await assertRejects(
    () => train(config, { resume: true }),
    new RegExp(`Cannot resume ${runDir} as another process works in ${runDir} \\(pid ${first.pid}, training this run`),
  );
  assertEquals(tf.memory().numTensors, numTensors);
  first.kill("SIGKILL");
  assertEquals((await first.status).signal, "SIGKILL", "the first process was still training");
  // The killed process left its lock file; the resume takes the lock over and finishes the run.
  const summary = await train(config, { resume: true });
  summary.model.dispose();
  assertEquals(summary.epochs.map((e) => e.epoch), [1, 2, 3, 4]);
  const lines = (await Deno.readTextFile(`${runDir}/metrics.jsonl`)).trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(lines.map((l) => l.epoch), [1, 2, 3, 4]);
  await assertRejects(() => Deno.stat(`${runDir}/${LOCK_FILE}`), /No such file|not found/i);
  await Deno.remove(runDir, { recursive: true });
});

/** Sets or clears the immutable attribute (`chattr`, root on ext4): false where that is not possible. */
async function immutable(path: string, on: boolean): Promise<boolean> {
  try {
    const out = await new Deno.Command("chattr", { args: [on ? "+i" : "-i", path], stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

Deno.test("train() --overwrite removes all of the old run or none of it", async (t) => {
  await t.step("a file of the run that cannot be moved: nothing is removed", async () => {
    const runDir = await finishedRun();
    const before = await snapshot(runDir);
    // As root a read-only directory is no obstacle, but an immutable file is; as another user, the reverse.
    const root = Deno.uid() === 0;
    const blocked = root ? await immutable(`${runDir}/metrics.jsonl`, true) : true;
    if (!blocked) return console.warn("skipped: chattr +i is not possible here");
    if (!root) await Deno.chmod(runDir, 0o555);
    try {
      await assertRejects(
        () => train(small(runDir, { width: 3 }), { overwrite: true }),
        root
          ? /Cannot overwrite .* as its metrics\.jsonl cannot be removed: .*\. Nothing was removed/
          : /Cannot overwrite .* as its config\.json cannot be removed: .*\. Nothing was removed/,
      );
    } finally {
      if (root) await immutable(`${runDir}/metrics.jsonl`, false);
      else await Deno.chmod(runDir, 0o755);
    }
    assertEquals(await snapshot(runDir), before);
    assertEquals(JSON.parse(await Deno.readTextFile(`${runDir}/config.json`)).width, 2);
    await Deno.remove(runDir, { recursive: true });
  });
  await t.step(
    "a file deep in checkpoints/ that cannot be deleted: the new run is whole, the rest is reported",
    async () => {
      const runDir = await finishedRun();
      const stuck = `${runDir}/checkpoints/epoch-001/state.json`;
      if (!(await immutable(stuck, true))) return console.warn("skipped: chattr +i is not possible here");
      const warnings: string[] = [];
      const warn = console.warn;
      console.warn = (...args: unknown[]) => warnings.push(args.join(" "));
      try {
        (await train(small(runDir, { width: 3 }), { overwrite: true })).model.dispose();
      } finally {
        console.warn = warn;
      }
      const left = [...Deno.readDirSync(runDir)].map((e) => e.name).filter((n) => n.startsWith(".overwritten-"));
      assertEquals(left.length, 1);
      assert(warnings.some((w) => w.includes(`moved to ${runDir}/${left[0]}`)), warnings.join("\n"));
      // The run directory holds the new run only, and it resumes.
      assertEquals(JSON.parse(await Deno.readTextFile(`${runDir}/config.json`)).width, 3);
      assertEquals(JSON.parse(await Deno.readTextFile(`${runDir}/best/model.json`)).config.width, 3);
      (await train(small(runDir, { width: 3 }), { resume: true })).model.dispose();
      await immutable(`${runDir}/${left[0]}/checkpoints/epoch-001/state.json`, false);
      await Deno.remove(runDir, { recursive: true });
    },
  );
  await t.step("a config.json that another tool wrote is not the run's to remove", async () => {
    const runDir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${runDir}/config.json`, '{"compilerOptions": {"strict": true}}');
    await Deno.writeTextFile(`${runDir}/metrics.jsonl`, "");
    const before = await snapshot(runDir);
    await assertRejects(
      () => train(small(runDir), { overwrite: true }),
      /Cannot overwrite .* as its config\.json is not a run's config \(it has fields a run's config does not: compilerOptions\)/,
    );
    assertEquals(await snapshot(runDir), before);
    await Deno.remove(runDir, { recursive: true });
  });
});

/** Rewrites a JSON file of a run through `change`. */
async function edit(path: string, change: (value: Record<string, unknown>) => void): Promise<void> {
  const value = JSON.parse(await Deno.readTextFile(path));
  change(value);
  await Deno.writeTextFile(path, JSON.stringify(value, null, 2));
}

Deno.test("train() resume refuses records that disagree with each other or with config.json, naming what disagrees", async (t) => {
  const cases: [string, (dir: string) => Promise<Partial<TrainConfig>>, RegExp][] = [
    [
      "config.json's epochs raised by hand (the schedule of epoch 1 would change)",
      async (dir) => (await edit(`${dir}/config.json`, (c) => c.epochs = 5), { epochs: 5 }),
      /metrics\.jsonl's epoch line of epoch 1 has lr [\d.e-]+ at step 2, where config\.json's schedule gives [\d.e-]+\. Was a file edited by hand\?/,
    ],
    [
      "config.json's batch size changed by hand",
      async (dir) => (await edit(`${dir}/config.json`, (c) => c.batchSize = 16), { batchSize: 16 }),
      /state\.json says step 2 after epoch 1, where config\.json's 4 steps per epoch give 4/,
    ],
    [
      "state.json and latest.json at another step",
      async (dir) => {
        for (const f of [`${dir}/checkpoints/epoch-001/state.json`, `${dir}/latest.json`]) {
          await edit(f, (s) => s.step = 7);
        }
        return {};
      },
      /state\.json says step 7 after epoch 1, where config\.json's 2 steps per epoch give 2/,
    ],
    [
      "latest.json disagreeing with state.json",
      async (dir) => (await edit(`${dir}/latest.json`, (s) => s.step = 3), {}),
      /latest\.json and .*checkpoints\/epoch-001\/state\.json disagree/,
    ],
    [
      "state.json at an epoch its directory does not name",
      async (dir) => {
        for (const f of [`${dir}/checkpoints/epoch-001/state.json`, `${dir}/latest.json`]) {
          await edit(f, (s) => s.epoch = 0);
        }
        return {};
      },
      /state\.json is at epoch 0, step 2, which is not the checkpoint its directory names/,
    ],
    [
      "a best result that is not metrics.jsonl's",
      async (dir) => {
        for (const f of [`${dir}/checkpoints/epoch-001/state.json`, `${dir}/latest.json`]) {
          await edit(f, (s) => s.best = { epoch: 1, valPgd: 0.75 });
        }
        return {};
      },
      /names epoch 1 \(PGD 0\.75\) as the best, where metrics\.jsonl's best is epoch 1 \(PGD [\d.]+\)/,
    ],
    [
      "a validation accuracy of 150%",
      async (dir) => {
        const lines = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n").map((l) => JSON.parse(l));
        lines[0].valClean = 1.5;
        await Deno.writeTextFile(`${dir}/metrics.jsonl`, lines.map((l) => JSON.stringify(l) + "\n").join(""));
        return {};
      },
      /metrics\.jsonl's epoch line of epoch 1 has validation accuracies that are not 0 <= PGD <= clean <= 1/,
    ],
    [
      'a config.json width of the string "2"',
      async (dir) => (await edit(`${dir}/config.json`, (c) => c.width = "2"), {}),
      /Cannot read .*config\.json as width must be a number: current value is the string "2"/,
    ],
  ];
  for (const [name, damage, pattern] of cases) {
    await t.step(name, async () => {
      const runDir = await finishedRun();
      const change = await damage(runDir);
      const before = await snapshot(runDir);
      const numTensors = tf.memory().numTensors;
      await assertRejects(() => train(small(runDir, change), { resume: true }), pattern);
      assertEquals(await snapshot(runDir), before, "the refusal changed a file");
      assertEquals(tf.memory().numTensors, numTensors);
      await Deno.remove(runDir, { recursive: true });
    });
  }
});

Deno.test("train() resume puts back a removed best/ from the best epoch's checkpoint, or says it cannot", async () => {
  const runDir = await finishedRun();
  const before = await snapshot(runDir);
  await Deno.remove(`${runDir}/best`, { recursive: true });
  (await train(small(runDir), { resume: true })).model.dispose();
  assertEquals(await snapshot(runDir), before, "best/ is the model it was");
  // Two epochs, only the latest checkpoint kept: once best/ is gone, an earlier best epoch cannot come back.
  const two = await Deno.makeTempDir();
  (await train(small(two, { epochs: 2, checkpointEvery: 0, lr: 1e-9 }))).model.dispose();
  const latest = JSON.parse(await Deno.readTextFile(`${two}/latest.json`));
  await Deno.remove(`${two}/best`, { recursive: true });
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args.join(" "));
  try {
    (await train(small(two, { epochs: 2, checkpointEvery: 0, lr: 1e-9 }), { resume: true })).model.dispose();
  } finally {
    console.warn = warn;
  }
  if (latest.best.epoch === 1) {
    assert(
      warnings.some((w) => w.includes("best (the model of epoch 1) is missing and no checkpoint")),
      warnings.join(),
    );
  } else {
    assert(await Deno.stat(`${two}/best/model.json`), "best of the last epoch restored");
  }
  await Deno.remove(runDir, { recursive: true });
  await Deno.remove(two, { recursive: true });
});
