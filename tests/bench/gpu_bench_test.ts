/**
 * `bench/gpu/bench.ts` stays runnable: its `--quick` check on oneDNN alone (WebGPU on lavapipe takes a minute,
 * so that half is run by hand; bench/README.md) prints one line per workload and width naming the backend,
 * the width, the batch and the seconds, and its total.
 */
import { assert, assertEquals } from "../_assert.ts";

Deno.test("bench/gpu/bench.ts --quick prints every workload at every width with its seconds", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../bench/gpu/bench.ts", import.meta.url).pathname,
      "--backends",
      "onednn",
      "--quick",
    ],
    env: { HAAT_THREADS: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert(out.success, text + new TextDecoder().decode(out.stderr));
  const lines = text.trim().split("\n").map((l) => JSON.parse(l));
  const measured = lines.filter((l) => l.backend === "onednn");
  assertEquals(
    measured.map((l) => `${l.workload}@${l.width}`).sort(),
    ["haat", "haat-warm", "pgd", "pgd-attack", "standard"].flatMap((w) => [`${w}@2`, `${w}@4`]).sort(),
  );
  for (const l of measured) {
    assert(l.seconds > 0 && l.batch === 4 && l.adapter === null && l.microBatch === 0, JSON.stringify(l));
    assert(l.error === undefined && l.skipped === undefined, JSON.stringify(l));
  }
  assertEquals(new Set(measured.map((l) => l.numTensors)).size, 1, "a workload left tensors behind");
  assertEquals(lines.at(-1).bench, "total");
});
