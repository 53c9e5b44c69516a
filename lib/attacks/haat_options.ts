/**
 * HAAT's options (SPEC section 1): their defaults, their one check, and the passes of the model that
 * an attack with them runs. `haat.ts` runs the attack.
 *
 * Cost of one attack step, in passes of the model (`haatCost`; a backward pass costs about two
 * forward ones), with k power steps:
 *
 * | Hessian-vector product        | forward passes | backward passes | backward of a backward |
 * | ----------------------------- | -------------- | --------------- | ---------------------- |
 * | "fd", difference "forward"    | 1 + k          | 1 + k           | 0                      |
 * | "fd", difference "central"    | 1 + 2k         | 1 + 2k          | 0                      |
 * | "exact"                       | 1 + 2k         | 1 + 2k          | k                      |
 *
 * k is `k` at every step (the paper's cold start), or with `warmStart` `k` at the first step and
 * `warmK` at each later one.
 *
 * @module
 */
import { checkEps } from "../core.ts";
import type { HvpMethod } from "../hessian/hvp.ts";

/** Options of `haat`; defaults (`HAAT_DEFAULTS`) are SPEC section 1's, the paper's where it gives one. */
export interface HaatOptions {
  /** Linf radius, [0,1] pixel scale. @default 8/255 */
  eps?: number;
  /** Attack steps. @default 10 */
  steps?: number;
  /**
   * Power-iteration steps (Hessian-vector products) per attack step; with `warmStart`, those of the first
   * step only. @default 5
   */
  k?: number;
  /** Finite-difference step, absolute. @default 1e-6 (the paper's) */
  xi?: number;
  /** Weight of the first-order step r1. @default 1/4 */
  w1?: number;
  /** Weight of the second-order step r2. @default 1/4 */
  w2?: number;
  /** Finite difference: "forward" (the paper's) or "central". @default "forward" */
  difference?: "forward" | "central";
  /** "fd" (finite differences) or "exact" (double backpropagation) Hessian-vector products. @default "fd" */
  hvp?: "fd" | "exact";
  /** Scale of r2; see the module doc. @default "cube" */
  secondOrderScale?: "cube" | "sqrtd" | "l2ball";
  /** Seed of the power-iteration starts (step t draws with `deriveSeed(seed, t)`). @default 0 */
  seed?: number;
  /**
   * Start each attack step's power iteration after the first from the previous step's vector, not from a
   * fresh random one (not in the paper: consecutive iterates lie close, so their top eigenvectors do
   * too); an example whose vector is zero starts from the fresh one. @default false (the paper's cold start)
   */
  warmStart?: boolean;
  /** Power-iteration steps of each attack step after the first, with `warmStart`. @default 1 */
  warmK?: number;
}

/**
 * HAAT's defaults (SPEC section 1), the one copy that training, evaluation and the command line use.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { HAAT_DEFAULTS } from "./haat_options.ts";
 * assert.strictEqual(HAAT_DEFAULTS.k, 5);
 * assert.strictEqual(HAAT_DEFAULTS.xi, 1e-6);
 * ```
 */
export const HAAT_DEFAULTS: Readonly<Required<HaatOptions>> = Object.freeze({
  eps: 8 / 255,
  steps: 10,
  k: 5,
  xi: 1e-6,
  w1: 1 / 4,
  w2: 1 / 4,
  difference: "forward",
  hvp: "fd",
  secondOrderScale: "cube",
  seed: 0,
  warmStart: false,
  warmK: 1,
});

/** Every HAAT option, filled in and checked (`resolveHaatOptions`): what a report or a run records. */
export type HaatSettings = Required<HaatOptions>;

/**
 * The names of HAAT's options, in `HAAT_DEFAULTS`' order.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { HAAT_OPTION_NAMES } from "./haat_options.ts";
 * assert.ok(HAAT_OPTION_NAMES.includes("w2"));
 * ```
 */
export const HAAT_OPTION_NAMES: readonly (keyof HaatOptions)[] = Object.freeze(
  Object.keys(HAAT_DEFAULTS) as (keyof HaatOptions)[],
);

/**
 * The Hessian-vector product method (`hessianVectorProduct`'s `method`, SPEC section 8) that HAAT's
 * `hvp` and `difference` (SPEC section 1) name: "exact" for `hvp: "exact"`, else the difference. The one
 * place where the two vocabularies meet.
 *
 * @param options `hvp` and `difference`.
 * @returns "forward", "central" or "exact".
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { hvpMethod } from "./haat_options.ts";
 * assert.strictEqual(hvpMethod({ hvp: "fd", difference: "central" }), "central");
 * assert.strictEqual(hvpMethod({ hvp: "exact", difference: "forward" }), "exact");
 * ```
 */
export function hvpMethod(options: Pick<HaatSettings, "hvp" | "difference">): HvpMethod {
  return options.hvp === "exact" ? "exact" : options.difference;
}

/**
 * Options added after reports and runs were first written, with the value that every file written
 * before them ran with: a file that lacks one ran with it.
 */
const LATER_OPTIONS: Readonly<Partial<HaatSettings>> = Object.freeze({ warmStart: false, warmK: 1 });

/**
 * The HAAT options in which two settings differ, each as `name first, not second` (options absent from
 * both are skipped; one absent from only one side counts as differing, except the options added later,
 * `warmStart` and `warmK`, which a file written before them lacks: it ran cold, with their defaults).
 *
 * @param first Settings (e.g. a saved run's or a progress file's).
 * @param second Settings to hold against them (e.g. this run's).
 * @returns One entry per differing option, in `HAAT_OPTION_NAMES`' order; empty if none.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { haatDifferences } from "./haat_options.ts";
 * assert.deepStrictEqual(haatDifferences({ k: 5, w2: 0.5 }, { k: 5, w2: 0.25 }), ["w2 0.5, not 0.25"]);
 * assert.deepStrictEqual(haatDifferences({ k: 5 }, { k: 5, warmStart: false }), []);
 * ```
 */
export function haatDifferences(first: HaatOptions, second: HaatOptions): string[] {
  const a = { ...LATER_OPTIONS, ...first }, b = { ...LATER_OPTIONS, ...second };
  return HAAT_OPTION_NAMES.filter((name) => a[name] !== b[name]).map((name) => `${name} ${a[name]}, not ${b[name]}`);
}

/** Passes of the model, as in the module doc's table. */
export interface HaatCost {
  forward: number;
  backward: number;
  /** Backward passes of a backward pass (the exact product's J v). */
  backwardOfBackward: number;
}

/**
 * The passes of the model that one HAAT attack step runs (the module doc's table), times `steps`.
 *
 * @param options `k`, `hvp`, `difference`, `steps` (defaults `HAAT_DEFAULTS`).
 * @returns Forward, backward and backward-of-backward passes.
 * @throws {Error} As `resolveHaatOptions`, for an option out of range.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { haatCost } from "./haat_options.ts";
 * assert.deepStrictEqual(haatCost({ k: 5, steps: 1 }), { forward: 6, backward: 6, backwardOfBackward: 0 });
 * // Warm: 5 products at the first step, 1 at each of the 9 others.
 * assert.strictEqual(haatCost({ k: 5, steps: 10, warmStart: true, warmK: 1 }).forward, 10 + 5 + 9);
 * ```
 */
export function haatCost(options: HaatOptions = {}): HaatCost {
  const o = resolveHaatOptions(options); // a cost of k = 1.5 or -1 passes would be no cost at all
  const perProduct = o.hvp === "exact"
    ? { forward: 2, backward: 2, backwardOfBackward: 1 }
    : o.difference === "central"
    ? { forward: 2, backward: 2, backwardOfBackward: 0 }
    : { forward: 1, backward: 1, backwardOfBackward: 0 };
  const products = powerSteps(o).reduce((sum, k) => sum + k, 0);
  return {
    forward: o.steps + products * perProduct.forward,
    backward: o.steps + products * perProduct.backward,
    backwardOfBackward: products * perProduct.backwardOfBackward,
  };
}

/**
 * The power-iteration steps of each attack step: `k` at every one (cold start, the paper's), or `k` at
 * the first and `warmK` at each later one (`warmStart`).
 *
 * @param options Filled-in settings (`resolveHaatOptions`).
 * @returns One count per attack step.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { powerSteps, resolveHaatOptions } from "./haat_options.ts";
 * assert.deepStrictEqual(powerSteps(resolveHaatOptions({ steps: 3, k: 5 })), [5, 5, 5]);
 * assert.deepStrictEqual(powerSteps(resolveHaatOptions({ steps: 3, k: 5, warmStart: true, warmK: 2 })), [5, 2, 2]);
 * ```
 */
export function powerSteps(options: Pick<HaatSettings, "steps" | "k" | "warmStart" | "warmK">): number[] {
  return Array.from({ length: options.steps }, (_, t) => t > 0 && options.warmStart ? options.warmK : options.k);
}

/**
 * `HAAT_DEFAULTS` overridden by `options`, checked: throws on the first bad value. The one check of
 * HAAT's options: training's config, evaluation and the command line all call it, so each bad option has
 * one message. An option given as `undefined` is bad, not the default.
 *
 * @param options HAAT's options.
 * @returns Every option, filled in.
 * @throws {Error} `Cannot run HAAT as <option> must be ...: current value is ...`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { resolveHaatOptions } from "./haat_options.ts";
 * assert.strictEqual(resolveHaatOptions({ k: 2 }).k, 2);
 * ```
 */
export function resolveHaatOptions(options: HaatOptions = {}): HaatSettings {
  const o = { ...HAAT_DEFAULTS, ...options };
  checkEps("HAAT", o.eps);
  const fail = (name: string, rule: string, value: unknown) => {
    throw new Error(`Cannot run HAAT as ${name} must be ${rule}: current value is ${value}`);
  };
  if (!Number.isInteger(o.steps) || o.steps < 0) fail("steps", "an integer >= 0", o.steps);
  if (!Number.isInteger(o.k) || o.k < 1) fail("k", "an integer >= 1", o.k);
  if (typeof o.xi !== "number" || !(o.xi > 0 && o.xi < Infinity)) fail("xi", "> 0", o.xi);
  if (typeof o.w1 !== "number" || !(o.w1 >= 0 && o.w1 < Infinity)) fail("w1", "a number >= 0", o.w1);
  if (typeof o.w2 !== "number" || !(o.w2 >= 0 && o.w2 < Infinity)) fail("w2", "a number >= 0", o.w2);
  if (!["forward", "central"].includes(o.difference)) fail("difference", "forward or central", o.difference);
  if (!["fd", "exact"].includes(o.hvp)) fail("hvp", "fd or exact", o.hvp);
  if (!["cube", "sqrtd", "l2ball"].includes(o.secondOrderScale)) {
    fail("secondOrderScale", "cube, sqrtd or l2ball", o.secondOrderScale);
  }
  if (!Number.isInteger(o.seed)) fail("seed", "an integer", o.seed);
  if (typeof o.warmStart !== "boolean") fail("warmStart", "true or false", o.warmStart);
  if (!Number.isInteger(o.warmK) || o.warmK < 1) fail("warmK", "an integer >= 1", o.warmK);
  return o;
}
