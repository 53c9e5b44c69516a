/**
 * HAAT's command-line flags, defined once for `deno task train`, `evaluate` and `attack`: every option of
 * `HaatOptions` but eps and steps (each command names its own radius and step count), read into
 * `HaatOptions`' names and checked by `resolveHaatOptions`, so that each bad option has one message
 * whichever command reads it.
 *
 * @module
 */
import { HAAT_DEFAULTS, type HaatOptions, type HaatSettings, resolveHaatOptions } from "../lib/attacks/haat.ts";
import { type Flags, type FlagSpec, numberFlag } from "./_flags.ts";

/** HAAT's options that the flags set, by flag name. */
export const HAAT_FLAG_OPTIONS = {
  k: "k",
  xi: "xi",
  w1: "w1",
  w2: "w2",
  difference: "difference",
  hvp: "hvp",
  "second-order-scale": "secondOrderScale",
  seed: "seed",
  "warm-start": "warmStart",
  "warm-k": "warmK",
} as const satisfies Record<string, keyof HaatOptions>;

/** A HAAT flag's name. */
export type HaatFlag = keyof typeof HAAT_FLAG_OPTIONS;

/** The HAAT flags, with `HAAT_DEFAULTS` as their defaults (for `parseFlags`). */
export const HAAT_FLAGS: Readonly<Record<HaatFlag, FlagSpec>> = Object.freeze({
  k: { type: "string", default: String(HAAT_DEFAULTS.k), help: "HAAT: power-iteration steps" },
  xi: { type: "string", default: String(HAAT_DEFAULTS.xi), help: "HAAT: finite-difference step (absolute)" },
  w1: { type: "string", default: "1/4", help: "HAAT: weight of the first-order step" },
  w2: { type: "string", default: "1/4", help: "HAAT: weight of the second-order step" },
  difference: { type: "string", default: HAAT_DEFAULTS.difference, help: "HAAT: forward or central differences" },
  hvp: { type: "string", default: HAAT_DEFAULTS.hvp, help: "HAAT: fd or exact Hessian-vector products" },
  "second-order-scale": {
    type: "string",
    default: HAAT_DEFAULTS.secondOrderScale,
    help: "HAAT: scale of the second-order step, cube, sqrtd or l2ball",
  },
  seed: {
    type: "string",
    default: String(HAAT_DEFAULTS.seed),
    help: "seed of the attacks' random starts, an integer (train: also weights, split and shuffle, in [0, 2^31))",
  },
  "warm-start": {
    type: "boolean",
    default: HAAT_DEFAULTS.warmStart,
    help: "HAAT: start each step's power iteration from the last step's vector (not the paper's)",
  },
  "warm-k": {
    type: "string",
    default: String(HAAT_DEFAULTS.warmK),
    help: "HAAT: power steps after the first step, warm",
  },
});

/**
 * One HAAT flag's value in `HaatOptions`' terms, read but not range-checked (`readHaatFlags` and
 * `resolveHaatOptions` check it): numbers for the numeric options, true or false for the switches, the
 * text for the others.
 *
 * @param name The flag.
 * @param flags Parsed flags.
 * @returns `[option name, value]`.
 * @throws {Error} If a numeric flag is not a number (`numberFlag`).
 * @example
 * ```ts
 * import { haatFlagValue } from "./_haat_flags.ts";
 * const flags = Object.assign({ w2: "1/2" }, { given: new Set(["w2"]) });
 * console.log(haatFlagValue("w2", flags)); // [ "w2", 0.5 ]
 * ```
 */
export function haatFlagValue(name: HaatFlag, flags: Flags): [keyof HaatOptions, number | string | boolean] {
  const option = HAAT_FLAG_OPTIONS[name], value = flags[name], kind = typeof HAAT_DEFAULTS[option];
  return [option, kind === "number" ? numberFlag(name, value) : kind === "boolean" ? value === true : String(value)];
}

/**
 * Every HAAT flag, read and checked with `resolveHaatOptions` (with `eps` and `steps` from the command's
 * own flags).
 *
 * @param flags Parsed flags (with `HAAT_FLAGS` among them).
 * @param options eps and steps of the command.
 * @returns Every HAAT option, filled in.
 * @throws {Error} `numberFlag`'s message for a flag that is not a number, else `resolveHaatOptions`'.
 * @example
 * ```ts
 * import { readHaatFlags } from "./_haat_flags.ts";
 * const flags = Object.assign(
 *   {
 *     k: "2", xi: "1e-5", w1: "1/4", w2: "0", difference: "central", hvp: "fd", "second-order-scale": "cube",
 *     seed: "3", "warm-start": true, "warm-k": "1",
 *   },
 *   { given: new Set<string>() },
 * );
 * console.log(readHaatFlags(flags, { eps: 8 / 255, steps: 20 }).difference); // central
 * ```
 */
export function readHaatFlags(flags: Flags, options: { eps: number; steps: number }): HaatSettings {
  const read = Object.fromEntries(
    (Object.keys(HAAT_FLAG_OPTIONS) as HaatFlag[]).map((name) => haatFlagValue(name, flags)),
  ) as HaatOptions;
  return resolveHaatOptions({ ...read, ...options });
}

/**
 * The HAAT flags that the command line gave.
 *
 * @param flags Parsed flags.
 * @returns Their names, in `HAAT_FLAGS`' order.
 */
export function givenHaatFlags(flags: Flags): HaatFlag[] {
  return (Object.keys(HAAT_FLAG_OPTIONS) as HaatFlag[]).filter((name) => flags.given.has(name));
}
