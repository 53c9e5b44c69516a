import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { loadModel, resnet18, tf, trainedModel } from "../../mod.ts";
import { TRAINED_MODELS } from "../../lib/models/trained.ts";
import { maxAbsDiff, randomImages, serveDirectory, setup } from "../_helpers.ts";

await setup();

Deno.test("resnet18() at width 64 has the standard CIFAR ResNet18's 11,173,962 parameters", () => {
  const model = resnet18();
  assertEquals(model.parameterCount(), 11_173_962);
  model.dispose();
});

Deno.test("resnet18() gives [n, 10] logits, and the same seed gives the same weights", () => {
  const a = resnet18({ width: 4, seed: 5 }), b = resnet18({ width: 4, seed: 5 }), c = resnet18({ width: 4, seed: 6 });
  for (const m of [a, b, c]) m.eval();
  const x = randomImages(3, 1);
  const [za, zb, zc] = [a, b, c].map((m) => m.logits(x));
  assertEquals(za.shape, [3, 10]);
  assertEquals(maxAbsDiff(za, zb), 0);
  assert(maxAbsDiff(za, zc) > 1e-4);
  tf.dispose([x, za, zb, zc]);
  for (const m of [a, b, c]) m.dispose();
  assertThrows(() => resnet18({ width: 0 }), /width must be a positive integer: current value is 0/);
});

Deno.test("resnet18() BatchNorm: train mode uses batch statistics and updates running ones, eval mode does neither", () => {
  const model = resnet18({ width: 4, seed: 1 });
  const x = randomImages(8, 2);
  const single = tf.slice(x, [0, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
  const stats0 = model.statistics[0].dataSync().slice();
  model.eval();
  const e1 = model.logits(x), e2 = model.logits(single);
  // Eval: an example's logits do not depend on the rest of the batch; running statistics unchanged.
  assert(maxAbsDiff(tf.slice(e1, [0, 0], [1, -1]), e2) < 1e-4);
  assertEquals(model.statistics[0].dataSync(), stats0);
  model.train();
  const t1 = model.logits(x);
  // Train: statistics of the batch are used (the output differs from eval) and running means moved.
  assert(maxAbsDiff(t1, e1) > 1e-3);
  const stats1 = model.statistics[0].dataSync();
  assert(stats1.some((v, i) => Math.abs(v - stats0[i]) > 1e-6));
  // Train-mode logits of an example change with its batch-mates.
  const t2 = model.logits(tf.concat([single, randomImages(7, 9)]) as tf.Tensor4D);
  assert(maxAbsDiff(tf.slice(t1, [0, 0], [1, -1]), tf.slice(t2, [0, 0], [1, -1])) > 1e-4);
  tf.dispose([x, single, e1, e2, t1, t2]);
  model.dispose();
});

Deno.test("model.save() and loadModel() round-trip weights and statistics, atomically into a directory", async () => {
  const dir = await Deno.makeTempDir();
  const model = resnet18({ width: 4, seed: 3 });
  model.train();
  tf.dispose(model.logits(randomImages(4, 4))); // move the running statistics off their initial values
  model.eval();
  const x = randomImages(2, 5);
  const before = model.logits(x);
  await model.save(`${dir}/m`);
  await model.save(`${dir}/m`); // overwriting leaves one weights file
  const files = [...Deno.readDirSync(`${dir}/m`)].map((e) => e.name).sort();
  assertEquals(files.length, 2);
  assert(files.includes("model.json") && files.some((f) => /^weights-[0-9a-f]{16}\.bin$/.test(f)));
  assert(!files.some((f) => f.includes(".tmp-")));
  const loaded = await loadModel(`${dir}/m`);
  assertEquals(loaded.mode, "eval");
  const after = loaded.logits(x);
  assertEquals(maxAbsDiff(before, after), 0);
  await assertRejects(() => loadModel(`${dir}/missing`), /model\.json is missing/);
  const weights = files.find((f) => f.startsWith("weights-"))!;
  const full = await Deno.readFile(`${dir}/m/${weights}`);
  await Deno.writeFile(`${dir}/m/${weights}`, full.subarray(0, 12)); // truncated: named with the size expected
  await assertRejects(
    () => loadModel(`${dir}/m`),
    new RegExp(`${weights} is truncated: 12 bytes, expected ${full.byteLength} \\(\\d+ float32 values`),
  );
  tf.dispose([x, before, after]);
  model.dispose();
  loaded.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("resnet18() and model.dispose() leave no tensor behind (the initial values of tf.variable are freed)", () => {
  const before = tf.memory().numTensors;
  const model = resnet18({ width: 4, seed: 2 });
  // Variables, plus the normalisation mean and 1/std: nothing else may stay alive.
  assertEquals(tf.memory().numTensors - before, model.trainableVariables.length + model.statistics.length + 2);
  model.dispose();
  assertEquals(tf.memory().numTensors, before);
  assertThrows(() => resnet18({ width: 2.5 }), /width must be a positive integer: current value is 2\.5/);
  assertEquals(tf.memory().numTensors, before);
});

/** A saved width-2 model in a fresh directory, and its weights file's path. */
async function savedModel(): Promise<{ dir: string; weights: string }> {
  const dir = await Deno.makeTempDir();
  const model = resnet18({ width: 2, seed: 4 });
  await model.save(dir);
  model.dispose();
  const weights = [...Deno.readDirSync(dir)].map((e) => e.name).find((f) => f.startsWith("weights-"))!;
  return { dir, weights: `${dir}/${weights}` };
}

Deno.test("loadModel() leaves no tensor behind, loaded or refused", async (t) => {
  const { dir, weights } = await savedModel();
  const before = tf.memory().numTensors;
  const loaded = await loadModel(dir);
  loaded.dispose();
  assertEquals(tf.memory().numTensors, before, "load + dispose");
  const manifest = JSON.parse(await Deno.readTextFile(`${dir}/model.json`));
  const refusals: [string, Record<string, unknown>, RegExp][] = [
    [
      "a tensor of the wrong shape",
      { tensors: [{ ...manifest.tensors[0], shape: [1] }, ...manifest.tensors.slice(1)] },
      /model\.json does not match its weights file: it lists \d+ float32 values \(\d+ bytes\), and .* holds/,
    ],
    [
      "two tensors' offsets swapped (valid bytes, loaded into the wrong tensors)",
      {
        tensors: [
          manifest.tensors[0],
          { ...manifest.tensors[1], offset: manifest.tensors[2].offset },
          { ...manifest.tensors[2], offset: manifest.tensors[1].offset },
          ...manifest.tensors.slice(3),
        ],
      },
      /tensor 1 of .*model\.json is w1 of shape \[2\] at offset 56: expected w1 of shape \[2\] at offset 54/,
    ],
    [
      "tensors renamed out of order",
      { tensors: [manifest.tensors[1], manifest.tensors[0], ...manifest.tensors.slice(2)] },
      /tensor 0 of .*model\.json is w1/,
    ],
    [
      "an offset outside the file",
      { tensors: [{ ...manifest.tensors[0], offset: 1e9 }, ...manifest.tensors.slice(1)] },
      /offset 1000000000/,
    ],
    ["a different width", { config: { ...manifest.config, width: 3 } }, /does not match its config/],
    ["a bad width", { config: { ...manifest.config, width: -1 } }, /bad config: .*width must be a positive integer/],
  ];
  for (const [name, change, pattern] of refusals) {
    await t.step(name, async () => {
      await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify({ ...manifest, ...change }));
      await assertRejects(() => loadModel(dir), pattern);
      assertEquals(tf.memory().numTensors, before);
    });
  }
  await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify(manifest));
  assert(weights.length > 0);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadModel() refuses a weights file whose hash or values are bad, naming the file", async (t) => {
  await t.step("a flipped byte: the SHA-256 no longer matches the name", async () => {
    const { dir, weights } = await savedModel();
    const bytes = await Deno.readFile(weights);
    bytes[100] ^= 1;
    await Deno.writeFile(weights, bytes);
    await assertRejects(
      () => loadModel(dir),
      new RegExp(`${weights.replace(/[.]/g, "\\.")} is corrupted: its SHA-256 begins [0-9a-f]{16}, its name says`),
    );
    await Deno.remove(dir, { recursive: true });
  });
  await t.step("NaN weights, saved under their true hash: refused as not finite", async () => {
    const dir = await Deno.makeTempDir();
    const model = resnet18({ width: 2, seed: 4 });
    model.trainableVariables[3].assign(tf.fill(model.trainableVariables[3].shape, NaN));
    await model.save(dir);
    model.dispose();
    const before = tf.memory().numTensors;
    await assertRejects(
      () => loadModel(dir),
      /weights-[0-9a-f]{16}\.bin holds a value that is not finite: NaN at float \d+/,
    );
    assertEquals(tf.memory().numTensors, before);
    await Deno.remove(dir, { recursive: true });
  });
  await t.step("a weights file name that is not weights-<hash>.bin (or climbs out of the directory)", async () => {
    const { dir } = await savedModel();
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/model.json`));
    await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify({ ...manifest, weightsFile: "../weights.bin" }));
    await assertRejects(
      () => loadModel(dir),
      /names no weights file of the form weights-<16 hex digits>\.bin: current value is \.\.\/weights\.bin/,
    );
    await Deno.remove(dir, { recursive: true });
  });
  await t.step("a missing weights file", async () => {
    const { dir, weights } = await savedModel();
    await Deno.remove(weights);
    await assertRejects(() => loadModel(dir), /its weights file .*weights-[0-9a-f]{16}\.bin is missing or unreadable/);
    await Deno.remove(dir, { recursive: true });
  });
});

Deno.test({
  name: "loadModel() from an http URL gives the same model as from the directory, and names the URL when it fails",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const { dir } = await savedModel();
    const server = serveDirectory(dir, "/m/");
    const base = server.base;
    const [local, remote] = [await loadModel(dir), await loadModel(`${base}/m/`)];
    const x = randomImages(2, 7);
    const [a, b] = [local.logits(x), remote.logits(x)];
    assertEquals(maxAbsDiff(a, b), 0);
    tf.dispose([x, a, b]);
    local.dispose();
    remote.dispose();
    await assertRejects(() => loadModel(`${base}/nowhere`), /nowhere\/model\.json is missing or not JSON: HTTP 404/);
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name:
    "trainedModel() names a committed model that loadModel() reads from a checkout and from the repository's URL alike",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const repo = new URL("../../", import.meta.url).pathname;
    assertEquals(trainedModel("pgd-w8"), `${repo}results/pgd-w8/best`);
    // The repository served over http, as a host of its raw files would.
    const server = serveDirectory(repo, "/haat/main/");
    const url = trainedModel("pgd-w8", `${server.base}/haat/main/lib/models/trained.ts`);
    assertEquals(url, `${server.base}/haat/main/results/pgd-w8/best`);
    const [local, remote] = [await loadModel(trainedModel("pgd-w8")), await loadModel(url)];
    const x = randomImages(2, 8);
    const [a, b] = [local.logits(x), remote.logits(x)];
    assertEquals(maxAbsDiff(a, b), 0);
    tf.dispose([x, a, b]);
    local.dispose();
    remote.dispose();
    // The robust full-width model, float16, 22 MB: the same bytes by path and by URL.
    const robustUrl = trainedModel("fgsm-rs-w64", `${server.base}/haat/main/lib/models/trained.ts`);
    const [robustLocal, robustRemote] = [await loadModel(trainedModel("fgsm-rs-w64")), await loadModel(robustUrl)];
    assertEquals([robustLocal.config.width, robustRemote.config.width], [64, 64]);
    const z = randomImages(2, 9);
    const [c, d] = [robustLocal.logits(z), robustRemote.logits(z)];
    assertEquals(maxAbsDiff(c, d), 0);
    tf.dispose([z, c, d]);
    robustLocal.dispose();
    robustRemote.dispose();
    for (const bad of ["../secrets", "/etc", "pgd-w8/../../x", ""]) {
      assertThrows(() => trainedModel(bad), /run must be one of the committed models \(pgd-w8, .*\): current value is/);
    }
    await server.shutdown();
  },
});

Deno.test("model.save({ dtype: 'float16' }) halves the file, and the loaded model is the float32 one rounded", async () => {
  const dir = await Deno.makeTempDir();
  const model = resnet18({ width: 4, seed: 7 });
  model.train();
  tf.dispose(model.logits(randomImages(4, 6)));
  model.eval();
  await model.save(`${dir}/f32`);
  await model.save(`${dir}/f16`, { dtype: "float16" });
  const size = (d: string) =>
    [...Deno.readDirSync(d)].filter((e) => e.name.endsWith(".bin")).map((e) => Deno.statSync(`${d}/${e.name}`).size)[0];
  assertEquals(size(`${dir}/f16`) * 2, size(`${dir}/f32`));
  assertEquals(JSON.parse(Deno.readTextFileSync(`${dir}/f16/model.json`)).dtype, "float16");
  const before = tf.memory().numTensors;
  const loaded = await loadModel(`${dir}/f16`);
  // Every value is the float32 one to binary16's precision: a relative error of at most 2^-11 (normal values).
  for (const [i, v] of [...model.trainableVariables, ...model.statistics].entries()) {
    const a = v.dataSync(), b = [...loaded.trainableVariables, ...loaded.statistics][i].dataSync();
    for (let j = 0; j < a.length; j++) {
      assert(Math.abs(a[j] - b[j]) <= Math.max(Math.abs(a[j]) * 2 ** -11, 2 ** -25), `tensor ${i}, value ${j}`);
    }
  }
  const x = randomImages(3, 8);
  const [p, q] = [model.logits(x), loaded.logits(x)];
  const diff = maxAbsDiff(p, q);
  assert(diff > 0 && diff < 1e-2, `float16 logits differ by ${diff}`);
  tf.dispose([x, p, q]);
  loaded.dispose();
  assertEquals(tf.memory().numTensors, before);
  // A value float16 cannot hold is refused before anything is written.
  tf.tidy(() => model.trainableVariables[0].assign(tf.fill(model.trainableVariables[0].shape, 1e6)));
  await assertRejects(
    () => model.save(`${dir}/big`, { dtype: "float16" }),
    /beyond \+-65504: current value is 1000000/,
  );
  await assertRejects(() => Deno.stat(`${dir}/big`), /No such file/);
  await assertRejects(
    () => model.save(`${dir}/bad`, { dtype: "int8" as "float16" }),
    /dtype must be float32 or float16: current value is int8/,
  );
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("TRAINED_MODELS lists exactly the committed models, with their width, weights file and size", async () => {
  const results = new URL("../../results/", import.meta.url).pathname;
  const found: string[] = [];
  const walk = (dir: string, prefix: string, depth: number) => {
    for (const entry of Deno.readDirSync(dir)) {
      if (!entry.isDirectory) continue;
      if (entry.name === "best") found.push(prefix.slice(0, -1));
      else if (depth < 2) walk(`${dir}/${entry.name}`, `${prefix}${entry.name}/`, depth + 1);
    }
  };
  walk(results, "", 0);
  assertEquals(found.sort(), Object.keys(TRAINED_MODELS).sort());
  for (const [run, info] of Object.entries(TRAINED_MODELS)) {
    const manifest = JSON.parse(await Deno.readTextFile(`${results}${run}/best/model.json`));
    assertEquals([manifest.config.width, manifest.weightsFile], [info.width, info.weightsFile], run);
    assertEquals((await Deno.stat(`${results}${run}/best/${info.weightsFile}`)).size, info.bytes, run);
  }
});

Deno.test("loadModel() refuses a committed model's folder that holds another model or a truncated file", async () => {
  const root = await Deno.makeTempDir();
  const best = `${root}/results/pgd-w8/best`;
  const committed = trainedModel("pgd-w8");
  await Deno.mkdir(best, { recursive: true });
  const info = TRAINED_MODELS["pgd-w8"];
  for (const name of ["model.json", info.weightsFile]) await Deno.copyFile(`${committed}/${name}`, `${best}/${name}`);
  const ok = await loadModel(best);
  ok.dispose();
  const before = tf.memory().numTensors;
  const bytes = await Deno.readFile(`${best}/${info.weightsFile}`);
  await Deno.writeFile(`${best}/${info.weightsFile}`, bytes.subarray(0, 1000));
  await assertRejects(
    () => loadModel(best),
    new RegExp(`pgd-w8/best/${info.weightsFile} is truncated: 1000 bytes, expected ${info.bytes} `),
  );
  // Another width saved in its place: refused by name, with what was expected.
  const other = resnet18({ width: 4 });
  await other.save(best);
  other.dispose();
  await assertRejects(
    () => loadModel(best),
    new RegExp(
      `is not the committed pgd-w8: it names weights-\\w+\\.bin of a width-4 ResNet18, expected ${info.weightsFile}`,
    ),
  );
  assertEquals(tf.memory().numTensors, before);
  await Deno.remove(root, { recursive: true });
});
