import { assert, assertEquals } from "../_assert.ts";
import { loadModel, resnet18 } from "../../mod.ts";
import { records, setup } from "../_helpers.ts";

await setup();

const REPO = new URL("../../", import.meta.url).pathname;

/** Runs `deno task export` with these flags; its exit code and output. */
async function exportModel(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO}cli/export.ts`, ...args],
    env: { HAAT_BACKEND: "wasm" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("deno task export stores a model as float16 after checking its accuracy, and refuses to overwrite", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/test_batch.bin`, records(16, 3));
  const model = resnet18({ width: 2, seed: 1 });
  await model.save(`${dir}/f32`);
  const common = ["--model", `${dir}/f32`, "--data", dir];
  const done = await exportModel([...common, "--out", `${dir}/f16`, "--check-n", "16"]);
  assertEquals(done.code, 0, done.stderr);
  const line = JSON.parse(done.stdout.trim().split("\n").pop()!);
  assertEquals([line.dtype, line.n, line.clean.length, line.pgd20.length], ["float16", 16, 2, 2]);
  assert(Math.abs(line.clean[0] - line.clean[1]) <= 0.002 && Math.abs(line.pgd20[0] - line.pgd20[1]) <= 0.002);
  const values = [...model.trainableVariables, ...model.statistics].reduce((s, v) => s + v.size, 0);
  assertEquals(line.bytes, 2 * values);
  const loaded = await loadModel(`${dir}/f16`);
  assertEquals(loaded.parameterCount(), model.parameterCount());
  loaded.dispose();
  model.dispose();
  // Refusals, each before anything is written.
  const before = [...Deno.readDirSync(`${dir}/f16`)].map((e) => e.name).sort();
  for (
    const [args, text] of [
      [["--out", `${dir}/f16`], `Cannot export into ${dir}/f16 as it holds a model: give --overwrite`],
      [
        ["--out", `${dir}/x`, "--dtype", "int8"],
        "--dtype as it must be one of float16, float32: current value is int8",
      ],
      [["--out", `${dir}/x`, "--tolerance=-1"], "--tolerance as it must be >= 0 points: current value is -1"],
      [["--out", `${dir}/x`, "--check-n", "17"], `Cannot check on 17 test images as ${dir} holds 16`],
    ] as const
  ) {
    const refused = await exportModel([...common, ...args]);
    assertEquals(refused.code, 1, refused.stdout);
    assert(refused.stderr.includes(text), refused.stderr);
  }
  assertEquals([...Deno.readDirSync(`${dir}/f16`)].map((e) => e.name).sort(), before);
  await Deno.stat(`${dir}/x`).then(() => assert(false, "x written"), () => {});
  await Deno.remove(dir, { recursive: true });
});
