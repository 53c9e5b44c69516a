/**
 * Test helpers: the shared CIFAR-10 directory (when present), a linear classifier, closeness checks.
 *
 * @module
 */
import { type Classifier, type Dataset, tf, useBackend } from "../mod.ts";
import { assert, assertEquals } from "./_assert.ts";
import { RECORD_BYTES } from "../lib/data/cifar10.ts";
import { readEnv } from "../lib/env.ts";

/** The shared real CIFAR-10 subset, if present (HAAT_DATA or ../shared/data/cifar10). */
export const SHARED_DATA = readEnv("HAAT_DATA") ?? new URL("../../shared/data/cifar10", import.meta.url).pathname;

/** True if the shared data is there. */
export const HAS_SHARED_DATA = (() => {
  try {
    return Deno.statSync(`${SHARED_DATA}/test_batch.bin`).isFile;
  } catch {
    return false;
  }
})();

/** Starts the default backend once. */
export async function setup(): Promise<void> {
  await useBackend();
}

/** A linear classifier on flattened images: z = W^T x + b, with its weights. */
export function linearClassifier(
  classes: number,
  seed: number,
): { f: Classifier; w: tf.Tensor2D; b: tf.Tensor1D } {
  const w = tf.randomNormal([3072, classes], 0, 0.05, "float32", seed) as tf.Tensor2D;
  const b = tf.randomNormal([classes], 0, 0.1, "float32", seed + 1) as tf.Tensor1D;
  const f: Classifier = (x) => tf.tidy(() => tf.add(tf.matMul(tf.reshape(x, [x.shape[0], -1]), w), b) as tf.Tensor2D);
  return { f, w, b };
}

/** Uniform images in [lo, hi], NHWC 32x32x3. */
export function randomImages(n: number, seed: number, lo = 0, hi = 1): tf.Tensor4D {
  return tf.randomUniform([n, 32, 32, 3], lo, hi, "float32", seed) as tf.Tensor4D;
}

/**
 * Starts `backend` for the tests of a file: false (saying why) where it cannot start, so they are
 * skipped; in CI (CI=true) it throws instead, since `.ci/run` installs what the backend needs.
 */
export async function startOrSkip(backend: "onednn" | "webgpu", what: string): Promise<boolean> {
  try {
    await useBackend(backend);
    return true;
  } catch (e) {
    if (readEnv("CI") === "true") throw e;
    console.error(`${what} skipped: ${(e as Error).message}`);
    return false;
  }
}

/**
 * Asserts max |actual - expected| <= relative * max |expected| + absolute: float32 sums taken in
 * another order differ in proportion to the reference's size.
 */
export function assertCloseToScale(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  what: string,
  relative: number,
  absolute = 1e-6,
): void {
  assertEquals(actual.length, expected.length, `${what}: length`);
  let scale = 0, worst = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  }
  const bound = relative * scale + absolute;
  assert(worst <= bound, `${what}: max |difference| ${worst} > ${bound} (reference scale ${scale})`);
}

/** Max over elements of |a - b|. */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  const t = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = t.dataSync()[0];
  t.dispose();
  return v;
}

/** CIFAR-10 binary records generated for tests (labels r % 10, bytes that differ with the salt). */
export function records(n: number, salt: number): Uint8Array {
  const bytes = new Uint8Array(n * RECORD_BYTES);
  for (let r = 0; r < n; r++) {
    bytes[r * RECORD_BYTES] = r % 10;
    for (let p = 1; p < RECORD_BYTES; p++) bytes[r * RECORD_BYTES + p] = (r * 31 + p * 7 + salt) % 256;
  }
  return bytes;
}

/** n generated CIFAR-shaped images with labels 0..9 in turn. */
export function syntheticDataset(n: number): Dataset {
  return {
    images: Uint8Array.from({ length: n * 3072 }, (_, i) => (i * 7919 + (i >> 5)) % 256),
    labels: Int32Array.from({ length: n }, (_, i) => i % 10),
    size: n,
    classNames: Array.from({ length: 10 }, (_, c) => `class${c}`),
  };
}

/**
 * Serves the files under `root` over http on 127.0.0.1 (a free port), as a host of raw files would: the request
 * path, less `prefix`, names the file; a missing file is a 404. Returns the server's base URL and a shutdown.
 */
export function serveDirectory(root: string, prefix = "/"): { base: string; shutdown: () => Promise<void> } {
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (request) => {
    const path = new URL(request.url).pathname;
    if (!path.startsWith(prefix)) return new Response("not found", { status: 404 });
    try {
      return new Response(await Deno.readFile(`${root}/${path.slice(prefix.length)}`));
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return { base: `http://127.0.0.1:${server.addr.port}`, shutdown: () => server.shutdown() };
}

/**
 * Starts another process that takes the lock on `dir` (`lockDirectory`) and holds it until killed; resolves
 * once it holds it. `kill()` ends it with SIGKILL, as a crash would, leaving its lock file behind.
 */
export async function holdLock(dir: string): Promise<{ pid: number; kill: () => Promise<void> }> {
  const lock = new URL("../lib/io/lock.ts", import.meta.url).href;
  const script = `import { lockDirectory } from "${lock}";
await lockDirectory(${JSON.stringify(dir)}, "a test's holder", "hold");
console.log("locked");
setInterval(() => {}, 1000);`;
  const child = new Deno.Command(Deno.execPath(), { args: ["eval", script], stdout: "piped", stderr: "inherit" })
    .spawn();
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("locked")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the lock holder ended before it held the lock: ${text}`);
    text += new TextDecoder().decode(value);
  }
  return {
    pid: child.pid,
    kill: async () => {
      child.kill("SIGKILL");
      await child.status;
      reader.releaseLock();
      await child.stdout.cancel();
    },
  };
}

/**
 * Runs a TypeScript snippet with the project's deno.json in a fresh `deno eval` (where no backend was chosen),
 * with `env` added to the environment.
 *
 * @returns Its exit code, and its stdout followed by its stderr.
 */
export async function evalScript(
  script: string,
  env: Record<string, string> = {},
): Promise<{ code: number; output: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", `--config=${new URL("../deno.json", import.meta.url).pathname}`, script],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, output: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr) };
}
