/**
 * HAAT's command-line flags (cli/_haat_flags.ts): one definition for train, evaluate and attack, every
 * HAAT option, and one message per bad option (resolveHaatOptions'), whichever command reads it.
 */
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { HAAT_DEFAULTS, type HaatOptions } from "../mod.ts";
import { HAAT_FLAG_OPTIONS, HAAT_FLAGS, readHaatFlags } from "../cli/_haat_flags.ts";
import type { Flags } from "../cli/_flags.ts";

/** The flags' defaults with `values` over them, as `parseFlags` gives them. */
function flagsOf(values: Record<string, string | boolean> = {}): Flags {
  const defaults = Object.fromEntries(Object.entries(HAAT_FLAGS).map(([name, spec]) => [name, spec.default]));
  return Object.assign({ ...defaults, ...values }, { given: new Set(Object.keys(values)) }) as Flags;
}

/** One bad value per flag, and resolveHaatOptions' message for it. */
const BAD: [string, string, string][] = [
  ["k", "0", "Cannot run HAAT as k must be an integer >= 1: current value is 0"],
  ["xi", "0", "Cannot run HAAT as xi must be > 0: current value is 0"],
  ["w1", "-1", "Cannot run HAAT as w1 must be a number >= 0: current value is -1"],
  ["w2", "-1/4", "Cannot run HAAT as w2 must be a number >= 0: current value is -0.25"],
  ["difference", "backward", "Cannot run HAAT as difference must be forward or central: current value is backward"],
  ["hvp", "fdd", "Cannot run HAAT as hvp must be fd or exact: current value is fdd"],
  [
    "second-order-scale",
    "cubes",
    "Cannot run HAAT as secondOrderScale must be cube, sqrtd or l2ball: current value is cubes",
  ],
  ["seed", "1.5", "Cannot run HAAT as seed must be an integer: current value is 1.5"],
  ["warm-k", "0", "Cannot run HAAT as warmK must be an integer >= 1: current value is 0"],
];

Deno.test("HAAT_FLAGS cover every HAAT option but eps and steps, with HAAT_DEFAULTS as defaults", () => {
  const options = Object.values(HAAT_FLAG_OPTIONS).sort();
  const expected = Object.keys(HAAT_DEFAULTS).filter((name) => name !== "eps" && name !== "steps").sort();
  assertEquals(options, expected);
  const read = readHaatFlags(flagsOf(), { eps: 8 / 255, steps: 10 });
  assertEquals(read, { ...HAAT_DEFAULTS });
});

Deno.test("readHaatFlags() reads every HAAT flag into HaatOptions' names", () => {
  const read = readHaatFlags(
    flagsOf({
      k: "2",
      xi: "1e-5",
      w1: "1/2",
      w2: "0",
      difference: "central",
      hvp: "exact",
      "second-order-scale": "l2ball",
      seed: "7",
      "warm-start": true,
      "warm-k": "2",
    }),
    { eps: 4 / 255, steps: 3 },
  );
  const expected: Required<HaatOptions> = {
    eps: 4 / 255,
    steps: 3,
    k: 2,
    xi: 1e-5,
    w1: 0.5,
    w2: 0,
    difference: "central",
    hvp: "exact",
    secondOrderScale: "l2ball",
    seed: 7,
    warmStart: true,
    warmK: 2,
  };
  assertEquals(read, expected);
});

Deno.test("readHaatFlags() refuses each bad option with resolveHaatOptions' one message", async (t) => {
  for (const [name, value, message] of BAD) {
    await t.step(name, () => {
      const exact = new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$`);
      assertThrows(() => readHaatFlags(flagsOf({ [name]: value }), { eps: 8 / 255, steps: 10 }), exact);
    });
  }
});

/** Runs a command of cli/ with `args`; returns its exit code and stderr. */
async function run(command: string, args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(`../cli/${command}.ts`, import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { HAAT_BACKEND: "cpu" },
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("deno task train, evaluate and attack refuse a bad HAAT option with the same message, before any work", async (t) => {
  const missing = await Deno.makeTempDir({ prefix: "haat-flags-" });
  const commands: [string, string[]][] = [
    ["train", ["--objective", "haat"]],
    ["evaluate", ["--model", `${missing}/none`, "--haat"]],
    ["attack", ["--attack", "haat", "--data", `${missing}/none`]],
  ];
  for (const [command, args] of commands) {
    for (const [name, value, message] of [BAD[1], BAD[3], BAD[6]]) {
      await t.step(`${command} --${name} ${value}`, async () => {
        const { code, stderr } = await run(command, [...args, `--${name}=${value}`]);
        assertEquals(code, 1, stderr);
        assert(stderr.includes(`error: ${message}\n`), stderr);
      });
    }
  }
  await Deno.remove(missing, { recursive: true });
});
