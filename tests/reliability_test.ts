/**
 * Keeps `docs/reliability.md` true: runs every row of its table (a command, its exit status, a text
 * its output must contain) in a sandbox of generated CIFAR-format data and a small finished run, and
 * checks that a refused command wrote, changed or removed no file of the sandbox. The rows run a few at a time, each
 * group of consecutive rows in its own copy of the sandbox, in table order within the group.
 */
import { assert, assertEquals } from "./_assert.ts";
import { evaluate, type EvaluationProgress, loadCifar10, loadModel, resnet18, tf } from "../mod.ts";
import { train } from "../lib/train/train.ts";
import { sha256Hex } from "../lib/io/sha256.ts";
import { holdLock, records, setup } from "./_helpers.ts";

await setup();

const REPO = new URL("../", import.meta.url).pathname;

/** One row of the table. */
interface Row {
  command: string;
  exit: number;
  expected: string;
}

/**
 * The rows of the table in docs/reliability.md: `| \`command\` | exit | \`text\` |`, where a command may
 * set environment variables first (`HAAT_THREADS=999 deno task ...`).
 */
async function tableRows(): Promise<Row[]> {
  const text = await Deno.readTextFile(`${REPO}docs/reliability.md`);
  const rows: Row[] = [];
  for (const line of text.split("\n")) {
    const m = line.match(/^\|\s*`((?:[A-Z_]+=\S* )*deno task [^`]*)`\s*\|\s*(\d+)\s*\|\s*`([^`]+)`\s*\|\s*$/);
    if (m) rows.push({ command: m[1], exit: Number(m[2]), expected: m[3] });
  }
  return rows;
}

/** A data directory in the official layout: data_batch_1 with `first` records, four more of 4, a test file of 20. */
async function writeData(dir: string, salt: number, first = 200): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeFile(`${dir}/data_batch_1.bin`, records(first, salt));
  for (const k of [2, 3, 4, 5]) await Deno.writeFile(`${dir}/data_batch_${k}.bin`, records(4, salt + k));
  await Deno.writeFile(`${dir}/test_batch.bin`, records(20, salt + 9));
}

/** Every file under dir with the SHA-256 of its bytes. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) Object.assign(out, await snapshot(path));
    else out[path] = entry.isFile ? await sha256Hex(await Deno.readFile(path)) : "other";
  }
  return out;
}

/** The paths that differ between two snapshots, each with what became of it. */
function changes(before: Record<string, string>, after: Record<string, string>): string {
  const paths = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return paths.filter((p) => before[p] !== after[p])
    .map((p) => `${p} ${p in before ? (p in after ? "changed" : "removed") : "written"}`).join(", ");
}

/** Copies a directory tree. */
async function copy(from: string, to: string): Promise<void> {
  const out = await new Deno.Command("cp", { args: ["-r", from, to] }).output();
  assert(out.success, `cp -r ${from} ${to}`);
}

/** The sandbox of the table: data, fixtures and the run runs/k with its damaged copies. */
async function makeSandbox(): Promise<string> {
  const box = await Deno.makeTempDir({ prefix: "haat-reliability-" });
  await writeData(`${box}/data`, 0);
  await writeData(`${box}/data-other`, 1);
  // Another folder in the official layout whose first 200 training records are the same bytes.
  await writeData(`${box}/data-full-layout`, 0, 200);
  await Deno.writeFile(
    `${box}/data-full-layout/data_batch_1.bin`,
    new Uint8Array([...records(200, 0), ...records(100, 5)]),
  );
  await Deno.mkdir(`${box}/empty-data`);
  await Deno.writeFile(`${box}/empty-data/test_batch.bin`, new Uint8Array(0));
  await Deno.mkdir(`${box}/dir-data/test_batch.bin`, { recursive: true });
  await Deno.writeTextFile(`${box}/file-data`, "not a directory");
  const summary = await train({
    objective: "pgd",
    dataDir: `${box}/data`,
    trainSize: 96,
    valSize: 32,
    epochs: 1,
    batchSize: 32,
    width: 2,
    attackSteps: 1,
    valPgdSteps: 1,
    runDir: `${box}/runs/k`,
    logEvery: 0,
  });
  summary.model.dispose();
  // An earlier report beside the model: a refused evaluation must leave it as it was.
  await Deno.writeTextFile(`${box}/runs/k/best/report.json`, '{"clean": 0.5}');
  await copy(`${box}/runs/k`, `${box}/runs/k-moved`);
  await copy(`${box}/runs/k`, `${box}/runs/damaged`);
  const metrics = await Deno.readTextFile(`${box}/runs/damaged/metrics.jsonl`);
  await Deno.writeTextFile(`${box}/runs/damaged/metrics.jsonl`, metrics.slice(0, 30) + "\n");
  await copy(`${box}/runs/k`, `${box}/runs/no-checkpoints`);
  await Deno.remove(`${box}/runs/no-checkpoints/checkpoints`, { recursive: true });
  await Deno.remove(`${box}/runs/no-checkpoints/latest.json`);
  await copy(`${box}/runs/k`, `${box}/runs/leftovers`);
  await Deno.writeTextFile(`${box}/runs/leftovers/metrics.jsonl.tmp-1-0a1b2c3d`, '{"kind":');
  await makeIssue28Fixtures(box);
  // A model whose weights are NaN (saved under their true hash), and one with a flipped byte.
  const model = resnet18({ width: 2 });
  model.trainableVariables[0].assign(tf.fill(model.trainableVariables[0].shape, NaN));
  await model.save(`${box}/nan-model`);
  model.dispose();
  await copy(`${box}/runs/k/best`, `${box}/corrupted-model`);
  const weights = [...Deno.readDirSync(`${box}/corrupted-model`)].find((e) => e.name.startsWith("weights-"))!.name;
  const bytes = await Deno.readFile(`${box}/corrupted-model/${weights}`);
  bytes[8] ^= 0x40;
  await Deno.writeFile(`${box}/corrupted-model/${weights}`, bytes);
  return box;
}

/** Rewrites a JSON file through `change`. */
async function editJson(path: string, change: (value: Record<string, unknown>) => void): Promise<void> {
  const value = JSON.parse(await Deno.readTextFile(path));
  change(value);
  await Deno.writeTextFile(path, JSON.stringify(value, null, 2));
}

/**
 * The fixtures of the rows added for issue 28: runs edited by hand or missing best/, another tool's
 * config.json, reports of runs/k/best made with two attack settings and a damaged one, progress files
 * of `deno task evaluate --model runs/k/best --n 4 --autoattack none --sweep none` damaged two ways,
 * and downloads that are not the archive.
 */
async function makeIssue28Fixtures(box: string): Promise<void> {
  const k = `${box}/runs/k`;
  await copy(k, `${box}/runs/no-best`);
  await Deno.remove(`${box}/runs/no-best/best`, { recursive: true });
  await copy(k, `${box}/runs/more-epochs`);
  await editJson(`${box}/runs/more-epochs/config.json`, (c) => c.epochs = 3);
  await copy(k, `${box}/runs/width-string`);
  await editJson(`${box}/runs/width-string/config.json`, (c) => c.width = "2");
  await copy(k, `${box}/runs/other-step`);
  for (const f of ["checkpoints/epoch-001/state.json", "latest.json"]) {
    await editJson(`${box}/runs/other-step/${f}`, (s) => s.step = 7);
  }
  await Deno.mkdir(`${box}/runs/foreign`, { recursive: true });
  await Deno.writeTextFile(`${box}/runs/foreign/config.json`, '{"compilerOptions": {"strict": true}}');
  // Reports of runs/k/best: the CLI's settings, and 1/255 with one step; a copy; one with clean 150%.
  const model = await loadModel(`${k}/best`);
  const test = await loadCifar10(`${box}/data`, "test");
  for (const [dir, options] of [["cmp-8", {}], ["cmp-1", { eps: 1 / 255, pgdSteps: 1 }]] as const) {
    const report = evaluate(model.logits, test, options);
    await Deno.mkdir(`${box}/${dir}`);
    await Deno.writeTextFile(
      `${box}/${dir}/report.json`,
      JSON.stringify({ model: "runs/k/best", data: test.sources, ...report }),
    );
  }
  await copy(`${box}/cmp-8`, `${box}/cmp-8-again`);
  await copy(`${box}/cmp-8`, `${box}/cmp-damaged`);
  await editJson(`${box}/cmp-damaged/report.json`, (r) => r.clean = 1.5);
  // Progress files as deno task evaluate writes them: its key (weights, test files, options) and a part done.
  const four = await loadCifar10(`${box}/data`, "test", { limit: 4 });
  const flat = tf.tidy(() =>
    tf.concat([...model.trainableVariables, ...model.statistics].map((v) => tf.reshape(v, [-1])))
  );
  const weights = await sha256Hex(new Uint8Array((flat.dataSync() as Float32Array).buffer));
  flat.dispose();
  const options = { eps: 8 / 255, pgdSteps: 20 };
  const key = { weights, data: four.sources, options: { n: 4, ...options } };
  let progress: EvaluationProgress | undefined;
  evaluate(model.logits, four, { ...options, onProgress: (p) => progress ??= structuredClone(p) });
  model.dispose();
  for (
    const [dir, damage] of [
      ["progress-clean", (p: EvaluationProgress) => p.pgd!.clean = 1.5],
      ["progress-empty", (p: EvaluationProgress) => (p as unknown as Record<string, unknown>).pgd = {}],
    ] as const
  ) {
    const damaged = structuredClone(progress!);
    damage(damaged);
    await Deno.mkdir(`${box}/${dir}`);
    await Deno.writeTextFile(`${box}/${dir}/evaluate-progress.json`, JSON.stringify({ key, progress: damaged }));
  }
  await Deno.writeTextFile(`${box}/not-gzip.html`, "<html>moved</html>");
  const gz = new Blob([records(3, 4) as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"));
  await Deno.writeFile(`${box}/not-tar.gz`, new Uint8Array(await new Response(gz).arrayBuffer()));
}

/** Runs a table command in the sandbox: `deno task x` is `deno run -A cli/x.ts` of this repository. */
async function runRow(box: string, command: string): Promise<{ code: number; output: string }> {
  const script = command.replace(
    /deno task (\w+)/,
    (_, task) => `"${Deno.execPath()}" run -A --config="${REPO}deno.json" "${REPO}cli/${task}.ts"`,
  );
  const out = await new Deno.Command("sh", {
    args: ["-c", script],
    cwd: box,
    env: { HAAT_DATA: "data", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, output: decode(out.stdout) + decode(out.stderr) };
}

/**
 * Sandboxes, hence rows at a time. Each row is a subprocess that mostly starts Deno and TensorFlow.js, one after
 * another took over a minute; 4 at a time keep both cores busy while one starts.
 */
const SANDBOXES = 4;

Deno.test({
  name:
    "docs/reliability.md: every bad input gets the exit status and message its table says, and a refusal touches no file",
  sanitizeResources: false,
  fn: async (t) => {
    const rows = await tableRows();
    assert(rows.length >= 50, `the table has ${rows.length} rows`);
    const box = await makeSandbox();
    // Each group of consecutive rows runs in table order in its own copy of the sandbox, made before any row ran,
    // so a row sees no other group's files, and a refusal's before and after snapshots see only its own command:
    // the check that a refusal touches no file is the one-at-a-time run's, file for file.
    const boxes = [box];
    for (let i = 1; i < SANDBOXES; i++) {
      boxes.push(`${box}-${i}`);
      await copy(box, boxes[i]);
    }
    const size = Math.ceil(rows.length / SANDBOXES);
    const results = new Map<Row, { code: number; output: string; changed?: string }>();
    await Promise.all(boxes.map(async (sandbox, i) => {
      for (const row of rows.slice(i * size, (i + 1) * size)) {
        const before = await snapshot(sandbox);
        const result: { code: number; output: string; changed?: string } = await runRow(sandbox, row.command);
        const changed = changes(before, await snapshot(sandbox));
        if (changed !== "") result.changed = changed;
        results.set(row, result);
      }
    }));
    for (const row of rows) {
      await t.step(row.command, () => {
        const { code, output, changed } = results.get(row)!;
        assert(output.includes(row.expected), `expected "${row.expected}" in:\n${output}`);
        assertEquals(code, row.exit, `exit status of: ${row.command}\n${output}`);
        if (code !== 0) assert(changed === undefined, `${row.command} changed files: ${changed}`);
      });
    }
    for (const sandbox of boxes.slice(1)) await Deno.remove(sandbox, { recursive: true });
    // Rows that need a second process: a run directory, or an evaluation's directory, in use.
    for (
      const [dir, command, expected] of [
        ["runs/k", "deno task train --resume runs/k", "Cannot resume runs/k as another process works in runs/k (pid"],
        [
          "runs/k/best",
          "deno task evaluate --model runs/k/best --n 2 --autoattack none --sweep none",
          "Cannot evaluate into runs/k/best as another process works in runs/k/best (pid",
        ],
      ]
    ) {
      await t.step(`${command}, while another process holds ${dir}`, async () => {
        const holder = await holdLock(`${box}/${dir}`);
        const before = await snapshot(box);
        const { code, output } = await runRow(box, command);
        assert(output.includes(expected), `expected "${expected}" in:\n${output}`);
        assertEquals(code, 1, output);
        assertEquals(await snapshot(box), before, `${command} changed files`);
        // Killed, its lock goes with it: the same command now runs.
        await holder.kill();
        const again = await runRow(box, command);
        assertEquals(again.code, 0, again.output);
      });
    }
    await Deno.remove(box, { recursive: true });
  },
});
