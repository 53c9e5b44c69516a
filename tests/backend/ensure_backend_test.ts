/**
 * The backend starts itself: `loadModel()` and `train()` call `ensureBackend()`, and `resnet18()` names
 * `useBackend()` where no backend runs. Each case runs in a fresh process, where no backend was chosen.
 */
import { assert, assertEquals } from "../_assert.ts";
import { evalScript as run } from "../_helpers.ts";

/** Asserts that `text` matches `pattern`, showing the text where it does not. */
function assertMatch(text: string, pattern: RegExp): void {
  assert(pattern.test(text), `${JSON.stringify(text)} does not match ${pattern}`);
}

const mod = new URL("../../mod.ts", import.meta.url).href;

/** The JSON line a script printed after `marker`. */
function printed<T>(output: string, marker: string): T {
  const line = output.split("\n").find((l) => l.startsWith(marker));
  assert(line !== undefined, `no "${marker}" line in:\n${output.slice(-2000)}`);
  return JSON.parse(line.slice(marker.length)) as T;
}

Deno.test("loadModel() starts the backend itself: a committed model gives the same logits as after useBackend()", async () => {
  const logits = (start: string) =>
    `import { backendInfo, loadModel, tf, trainedModel, useBackend } from "${mod}";
${start}
const model = await loadModel(trainedModel("pgd-w8"));
const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 5);
const y = model.logits(x);
console.log("result: " + JSON.stringify({ backend: backendInfo().name, shape: y.shape, values: Array.from(y.dataSync()) }));`;
  type Result = { backend: string; shape: number[]; values: number[] };
  const bare = await run(logits("// no useBackend()"));
  assertEquals(bare.code, 0, bare.output.slice(-2000));
  const auto = await run(logits("await useBackend();"));
  assertEquals(auto.code, 0, auto.output.slice(-2000));
  const [a, b] = [printed<Result>(bare.output, "result: "), printed<Result>(auto.output, "result: ")];
  assertEquals(a.backend, b.backend, "ensureBackend() makes the choice useBackend() makes");
  assertEquals(a.shape, [2, 10]);
  assert(a.values.every(Number.isFinite), `logits not finite: ${a.values}`);
  assertEquals(a.values, b.values);
});

Deno.test("ensureBackend() starts one backend for concurrent callers and keeps a chosen one", async () => {
  const out = await run(
    `import { backendInfo, ensureBackend, useBackend } from "${mod}";
const [a, b] = await Promise.all([ensureBackend(), ensureBackend()]);
const same = a === b && a === backendInfo();
const kept = await useBackend("cpu") === await ensureBackend();
console.log("result: " + JSON.stringify({ same, name: a.name, kept }));`,
    {
      HAAT_BACKEND: "wasm",
    },
  );
  assertEquals(out.code, 0, out.output.slice(-2000));
  assertEquals(printed(out.output, "result: "), { same: true, name: "wasm", kept: true });
});

Deno.test("resnet18() with no backend started names useBackend(), and loadModel() names a bad HAAT_BACKEND", async () => {
  const out = await run(
    `import { loadModel, resnet18, trainedModel } from "${mod}";
const message = (f) => { try { f(); return "no error"; } catch (e) { return e.message; } };
const load = await loadModel(trainedModel("pgd-w8")).then(() => "no error", (e) => e.message);
console.log("result: " + JSON.stringify({ build: message(() => resnet18({ width: 2 })), load }));`,
    {
      HAAT_BACKEND: "nonesuch",
    },
  );
  assertEquals(out.code, 0, out.output.slice(-2000));
  const { build, load } = printed<{ build: string; load: string }>(out.output, "result: ");
  assertMatch(build, /^Cannot build ResNet18 as no TensorFlow\.js backend is started: call await useBackend\(\) first/);
  assertMatch(load, /^Cannot choose a backend as the name must be one of auto, .*: current value is nonesuch$/);
});
