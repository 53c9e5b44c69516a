/**
 * The training configuration (SPEC section 4): one typed object with every default and its reason,
 * its validation (every field, before any file is read or written), and its form in a run's
 * `config.json`.
 *
 * `config.json` holds what makes the run: every field except where the data and the run directory
 * are (`dataDir`, `runDir`: the same run may be read from anywhere or moved), plus `data`, the
 * SHA-256 of the training records read, so that the same command reproduces the run on any machine
 * and a resume can check that it reads the same images.
 *
 * @module
 */
import { type DataSource, defaultDataDir } from "../data/cifar10.ts";
import { type Objective, OBJECTIVES } from "./objectives.ts";
import { HAAT_DEFAULTS, type HaatSettings, resolveHaatOptions } from "../attacks/haat.ts";

/**
 * The micro-batch a training step needs on a backend so that it fits its memory: 64 for a width-64 (or
 * wider) ResNet18 on more than 64 images on the backends whose tensors live in the 2 GiB wasm heap
 * (`onednn`, `wasm`), else 0 (no split). On `webgpu` the tensors live in GPU buffers, so it is 0 there
 * (issue 25 item 4); `tensorflow` and `cpu` keep theirs in the process's own memory. The benchmarks use
 * it; `train` never splits on its own (`microBatch` is 0 unless given).
 *
 * @param backend The backend's name, as `useBackend()` reports it.
 * @param width ResNet18 width.
 * @param batchSize Images per step.
 * @returns The micro-batch, 0 for none.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { heapMicroBatch } from "./config.ts";
 * assert.strictEqual(heapMicroBatch("onednn", 64, 128), 64);
 * assert.strictEqual(heapMicroBatch("webgpu", 64, 128), 0);
 * assert.strictEqual(heapMicroBatch("onednn", 16, 128), 0);
 * ```
 */
export function heapMicroBatch(backend: string, width: number, batchSize: number): number {
  return (backend === "onednn" || backend === "wasm") && width >= 64 && batchSize > 64 ? 64 : 0;
}

/** The whole training configuration; every field has a default, with its reason. */
export interface TrainConfig {
  /** What the model is trained on: see `objectives.ts`. */
  objective: Objective;
  /** CIFAR-10 directory in the official binary layout (default: `defaultDataDir()`). Not saved. */
  dataDir: string;
  /** Use the first n training images (the shared subset holds 7,728); Infinity (null in JSON): all. */
  trainSize: number;
  /** Held out of the training images for validation (SPEC: 1,000); at least 1. */
  valSize: number;
  /** Epochs (the paper: 200; small here for CPU runs). */
  epochs: number;
  /** Batch size (the paper: 128). */
  batchSize: number;
  /** Peak learning rate (the paper: 0.1). */
  lr: number;
  /** "onecycle" (the paper's cyclic schedule) or "piecewise". */
  schedule: "onecycle" | "piecewise";
  /** SGD momentum (0.9) and weight decay (5e-4), SPEC section 4. */
  momentum: number;
  weightDecay: number;
  /** ResNet18 base width (64 is the paper's model). */
  width: number;
  /**
   * Start from these weights, not fresh ones (fine-tuning): a committed model's name (a key of
   * `TRAINED_MODELS`, e.g. "fgsm-rs-w16") or a model directory `model.save` wrote. Its width must be
   * `width`. Empty (the default): fresh weights drawn from `seed`.
   */
  init: string;
  /** Seed of weights, split, shuffle, augmentation and attacks: an integer in [0, 2^31). */
  seed: number;
  /** Training attack: Linf eps 8/255, step 2/255, 10 steps (the paper). */
  eps: number;
  alpha: number;
  attackSteps: number;
  /**
   * HAAT's options when objective is "haat" (SPEC section 1 defaults: k 5, xi 1e-6, w1 = w2 = 1/4), in
   * `HaatOptions`' names; eps, steps and seed are this config's `eps`, `attackSteps` and `seed`.
   */
  haat: Omit<HaatSettings, "eps" | "steps" | "seed">;
  /** TRADES' beta (Zhang et al. 2019: 6). */
  tradesBeta: number;
  /** PGD steps for the validation metric (SPEC picks the best checkpoint by PGD accuracy). */
  valPgdSteps: number;
  /** 4-pixel pad + crop + flip (SPEC section 4). */
  augment: boolean;
  /**
   * Split each batch into chunks of this size for the attack and the gradient, and accumulate the
   * gradients (0: no split, on every backend). BatchNorm then uses each chunk's own statistics
   * ("ghost" batches). On `onednn` and `wasm` the 2 GiB wasm heap holds a width-64 ResNet18 step of
   * at most 64 images, so such a run needs 64 there (`heapMicroBatch`); on `webgpu` the tensors live
   * in GPU buffers, outside that heap, and nothing asks for it.
   */
  microBatch: number;
  /** Keep the checkpoint of every n-th epoch (the paper: every 20); the latest is always kept. */
  checkpointEvery: number;
  /**
   * Also checkpoint every n steps inside an epoch (0: only after each epoch), so that a stop loses at
   * most n steps, not the epoch in flight; each replaces the one before. It does not change what is
   * computed, so a resume may change it.
   */
  checkpointSteps: number;
  /** Where config.json, metrics.jsonl and checkpoints go; empty for none. Not saved. */
  runDir: string;
  /** Print a progress line every n batches (0: only per epoch). */
  logEvery: number;
  /** Also write a `"kind": "batch"` line to metrics.jsonl every n batches (0: only epoch lines). */
  metricsEvery: number;
}

/** Fields of `TrainConfig` to change from the defaults; HAAT's options one by one, like the others. */
export type TrainOverrides = Partial<Omit<TrainConfig, "haat">> & { haat?: Partial<TrainConfig["haat"]> };

/**
 * Fields that may differ when a run is resumed: where the data is (the records read are checked
 * against the run's checksums instead), where the run is, how often progress is printed and how often
 * a checkpoint is taken inside an epoch. Every other field changes what the run computes, so a resume
 * with a different value is refused.
 */
export const RESUMABLE_FIELDS = ["dataDir", "runDir", "logEvery", "checkpointSteps"] as const;

/** Fields of `TrainConfig` that `config.json` leaves out (the places, which are this machine's). */
const PLACE_FIELDS = ["dataDir", "runDir"] as const;

/**
 * Defaults of `TrainConfig` (`dataDir` is `defaultDataDir()`).
 *
 * @returns A fresh config object.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { defaultTrainConfig } from "./config.ts";
 * assert.strictEqual(defaultTrainConfig().batchSize, 128);
 * ```
 */
export function defaultTrainConfig(): TrainConfig {
  // HAAT's defaults are HAAT_DEFAULTS (lib/attacks/haat.ts); eps, steps and seed come from this config.
  const { k, xi, w1, w2, difference, hvp, secondOrderScale, warmStart, warmK } = HAAT_DEFAULTS;
  return {
    objective: "pgd",
    dataDir: defaultDataDir(),
    trainSize: Infinity,
    valSize: 1000,
    epochs: 10,
    batchSize: 128,
    lr: 0.1,
    schedule: "onecycle",
    momentum: 0.9,
    weightDecay: 5e-4,
    width: 64,
    init: "",
    seed: 0,
    eps: 8 / 255,
    alpha: 2 / 255,
    attackSteps: 10,
    haat: { k, xi, w1, w2, difference, hvp, secondOrderScale, warmStart, warmK },
    tradesBeta: 6,
    valPgdSteps: 10,
    augment: true,
    microBatch: 0,
    checkpointEvery: 20,
    checkpointSteps: 0,
    runDir: "",
    logEvery: 10,
    metricsEvery: 0,
  };
}

/**
 * Throws a clear error, naming the field and its value, for the first bad field of a config. Every
 * field is checked, whatever the objective, since every field is saved with the run.
 *
 * @param config The config.
 * @throws {Error} `Cannot train as <field> must be ...: current value is <value>`; for HAAT's options
 *   `resolveHaatOptions`' message (`Cannot run HAAT as <option> must be ...`).
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { defaultTrainConfig, validateConfig } from "./config.ts";
 * validateConfig(defaultTrainConfig()); // passes
 * assert.throws(() => validateConfig({ ...defaultTrainConfig(), epochs: 0 }), /epochs/);
 * ```
 */
export function validateConfig(config: TrainConfig): void {
  const fail = (what: string, value: unknown): never => {
    throw new Error(`Cannot train as ${what}: current value is ${value === "" ? '""' : value}`);
  };
  const integer = (name: string, value: number, min: number) => {
    if (!(Number.isInteger(value) && value >= min)) fail(`${name} must be an integer >= ${min}`, value);
  };
  const finite = (name: string, value: number, ok: (v: number) => boolean, range: string) => {
    if (!(typeof value === "number" && Number.isFinite(value) && ok(value))) fail(`${name} must be ${range}`, value);
  };
  const oneOf = (name: string, value: unknown, allowed: readonly string[]) => {
    if (!allowed.includes(value as string)) fail(`${name} must be one of ${allowed.join(", ")}`, value);
  };
  oneOf("objective", config.objective, OBJECTIVES);
  if (typeof config.dataDir !== "string" || config.dataDir === "") fail("dataDir must be a directory", config.dataDir);
  if (config.trainSize !== Infinity) integer("trainSize", config.trainSize, 2);
  integer("valSize", config.valSize, 1);
  if (!(config.valSize < config.trainSize)) {
    fail(`valSize must be below trainSize (${config.trainSize}) to leave training images`, config.valSize);
  }
  integer("epochs", config.epochs, 1);
  integer("batchSize", config.batchSize, 1);
  finite("lr", config.lr, (v) => v > 0, "> 0 and finite");
  oneOf("schedule", config.schedule, ["onecycle", "piecewise"]);
  finite("momentum", config.momentum, (v) => v >= 0 && v < 1, "in [0, 1)");
  finite("weightDecay", config.weightDecay, (v) => v >= 0, ">= 0 and finite");
  integer("width", config.width, 1);
  if (typeof config.init !== "string") fail("init must be a committed model's name or a model directory", config.init);
  if (!(Number.isInteger(config.seed) && config.seed >= 0 && config.seed < 2 ** 31)) {
    fail("seed must be an integer in [0, 2^31)", config.seed);
  }
  finite("eps", config.eps, (v) => v > 0 && v <= 1, "in (0, 1]");
  finite("alpha", config.alpha, (v) => v > 0 && v <= 1, "in (0, 1]");
  integer("attackSteps", config.attackSteps, 1);
  const haat = config.haat;
  if (typeof haat !== "object" || haat === null) fail("haat must be an object of HAAT options", haat);
  // HAAT's one check (`resolveHaatOptions`, with its messages); each option is passed as given, so a
  // missing one is refused, not defaulted.
  const { k, xi, w1, w2, difference, hvp, secondOrderScale, warmStart, warmK } = haat;
  resolveHaatOptions({ k, xi, w1, w2, difference, hvp, secondOrderScale, warmStart, warmK });
  finite("tradesBeta", config.tradesBeta, (v) => v >= 0, ">= 0 and finite");
  integer("valPgdSteps", config.valPgdSteps, 1);
  if (typeof config.augment !== "boolean") fail("augment must be true or false", config.augment);
  integer("microBatch", config.microBatch, 0);
  integer("checkpointEvery", config.checkpointEvery, 0);
  integer("checkpointSteps", config.checkpointSteps, 0);
  if (typeof config.runDir !== "string") fail("runDir must be a string (empty for none)", config.runDir);
  integer("logEvery", config.logEvery, 0);
  integer("metricsEvery", config.metricsEvery, 0);
}

/**
 * The defaults with `overrides` applied (HAAT's options merged field by field), validated.
 *
 * @param overrides Fields to change from `defaultTrainConfig()`.
 * @returns The full config.
 * @throws {Error} As `validateConfig`, or for a field that `TrainConfig` does not have.
 */
export function resolveConfig(overrides: TrainOverrides): TrainConfig {
  const defaults = defaultTrainConfig();
  const unknown = Object.keys(overrides).filter((k) => !(k in defaults));
  const unknownHaat = Object.keys(overrides.haat ?? {}).filter((k) => !(k in defaults.haat));
  if (unknown.length + unknownHaat.length > 0) {
    throw new Error(
      `Cannot train as the config has fields that TrainConfig does not: ${
        [...unknown, ...unknownHaat.map((k) => `haat.${k}`)].join(", ")
      }`,
    );
  }
  const config: TrainConfig = { ...defaults, ...overrides, haat: { ...defaults.haat, ...overrides.haat } };
  validateConfig(config);
  return config;
}

/** A run's `config.json`: the config without its places, and the checksums of the records read. */
export interface SavedConfig {
  /** Every field of `TrainConfig` but `dataDir` and `runDir`. */
  config: Omit<TrainConfig, "dataDir" | "runDir">;
  /** The training records read; absent in config.json files written before checksums were kept. */
  data?: DataSource[];
}

/**
 * The text of `config.json` for a config and the records it read (Infinity is written as null).
 *
 * @param config The config.
 * @param data The training records read (`Dataset.sources`).
 * @returns Pretty-printed JSON.
 */
export function configJson(config: TrainConfig, data: DataSource[] | undefined): string {
  const saved: Record<string, unknown> = { ...config };
  for (const field of PLACE_FIELDS) delete saved[field];
  return JSON.stringify({ ...saved, data }, null, 2);
}

/**
 * Reads a run's `config.json` (also those written before checksums were kept, which hold `dataDir`
 * and `runDir`: both are dropped). Fields it lacks take their defaults; `null` trainSize is Infinity.
 * Every field is checked as `validateConfig` checks a config, and first for its JSON type (`"width":
 * "2"` is a string, not the number 2), and `data` for its form, so that a damaged or hand-edited file is
 * refused naming itself, the field and the value.
 *
 * @param text The file's text.
 * @param source The file's path, for messages.
 * @returns The saved config and data checksums.
 * @throws {Error} Naming the file if it is not JSON, not an object, has fields `TrainConfig` lacks, or a
 *   field of the wrong type or out of range.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { configJson, defaultTrainConfig, parseConfig } from "./config.ts";
 * const saved = parseConfig(configJson(defaultTrainConfig(), undefined));
 * assert.strictEqual(saved.config.trainSize, Infinity);
 * assert.throws(() => parseConfig('{"width": "2"}', "runs/x/config.json"), {
 *   message: 'Cannot read runs/x/config.json as width must be a number: current value is the string "2"',
 * });
 * ```
 */
export function parseConfig(text: string, source = "config.json"): SavedConfig {
  let saved: Record<string, unknown>;
  try {
    saved = JSON.parse(text);
  } catch (e) {
    throw new Error(`Cannot read ${source} as it is not JSON: ${(e as Error).message}`);
  }
  if (typeof saved !== "object" || saved === null || Array.isArray(saved)) {
    throw new Error(`Cannot read ${source} as it is not a JSON object of the run's config`);
  }
  const defaults = defaultTrainConfig() as unknown as Record<string, unknown>;
  const haat = (saved.haat ?? {}) as Record<string, unknown>;
  const unknown = [
    ...Object.keys(saved).filter((k) => !(k in defaults) && k !== "data"),
    ...(typeof haat === "object" && haat !== null
      ? Object.keys(haat).filter((k) => !(k in (defaults.haat as object))).map((k) => `haat.${k}`)
      : []),
  ];
  if (unknown.length > 0) throw new Error(`Cannot read ${source} as it has unknown fields: ${unknown.join(", ")}`);
  const fail = (what: string): never => {
    throw new Error(`Cannot read ${source} as ${what}`);
  };
  const describe = (v: unknown) =>
    typeof v === "string" ? `the string ${JSON.stringify(v)}` : Array.isArray(v) ? "an array" : JSON.stringify(v);
  const checkType = (name: string, value: unknown, expected: unknown) => {
    const want = typeof expected;
    const nullable = name === "trainSize"; // Infinity is written as null
    if (value === null && nullable) return;
    if (typeof value !== want || value === null || Array.isArray(value)) {
      fail(`${name} must be ${want === "object" ? "an object" : `a ${want}`}: current value is ${describe(value)}`);
    }
  };
  for (const [key, value] of Object.entries(saved)) {
    if (key === "data" || PLACE_FIELDS.includes(key as typeof PLACE_FIELDS[number])) continue;
    checkType(key, value, defaults[key]);
  }
  for (const [key, value] of Object.entries(haat)) {
    checkType(`haat.${key}`, value, (defaults.haat as Record<string, unknown>)[key]);
  }
  const { data, ...fields } = saved;
  if (data !== undefined) checkSources(data, fail);
  const config = {
    ...defaults,
    ...fields,
    haat: { ...(defaults.haat as object), ...haat },
    trainSize: saved.trainSize ?? Infinity,
  } as Record<string, unknown>;
  for (const field of PLACE_FIELDS) delete config[field];
  try {
    validateConfig({ ...config, dataDir: "data", runDir: "" } as unknown as TrainConfig);
  } catch (e) {
    // "Cannot read config.json as haat.xi must be ..." for HAAT's options (resolveHaatOptions' message).
    fail((e as Error).message.replace(/^Cannot train as /, "").replace(/^Cannot run HAAT as /, "haat."));
  }
  return { config: config as SavedConfig["config"], data: data as DataSource[] | undefined };
}

/** Checks the `data` of a config.json: a list of `{ file, records, sha256 }`, as `loadCifar10` records them. */
function checkSources(data: unknown, fail: (what: string) => never): void {
  if (!Array.isArray(data)) fail(`data must be a list of the files read: current value is ${JSON.stringify(data)}`);
  for (const [i, source] of (data as unknown[]).entries()) {
    const s = source as Record<string, unknown>;
    const ok = typeof s === "object" && s !== null && typeof s.file === "string" && s.file !== "" &&
      Number.isSafeInteger(s.records) && (s.records as number) >= 0 && typeof s.sha256 === "string" &&
      /^[0-9a-f]{64}$/.test(s.sha256);
    if (!ok) {
      fail(
        `data entry ${i} must be { file, records, sha256 } with a count and 64 hex digits: ` +
          `current value is ${JSON.stringify(source)}`,
      );
    }
  }
}

/**
 * Whether `text` is the `config.json` of a run of this project (a JSON object whose fields are all
 * `TrainConfig`'s, whatever their values), so that `--overwrite` removes only a run's own config, never a
 * file of the same name that another tool wrote.
 *
 * @param text The file's text.
 * @returns undefined if it is a run's config.json, else why not.
 */
export function notRunConfig(text: string): string | undefined {
  let saved: unknown;
  try {
    saved = JSON.parse(text);
  } catch {
    return "it is not JSON";
  }
  if (typeof saved !== "object" || saved === null || Array.isArray(saved)) return "it is not a JSON object";
  const defaults = defaultTrainConfig() as unknown as Record<string, unknown>;
  const unknown = Object.keys(saved).filter((k) => !(k in defaults) && k !== "data");
  if (unknown.length > 0) return `it has fields a run's config does not: ${unknown.slice(0, 5).join(", ")}`;
  if (!("objective" in saved)) return "it names no objective";
  return undefined;
}

/**
 * The fields in which a config differs from a saved one, leaving out `RESUMABLE_FIELDS`, each
 * written `field (value here, value in the run)`.
 *
 * @param config The config asked for.
 * @param saved The run's saved config.
 * @returns One entry per differing field (HAAT's options as `haat.k` etc.); empty if none.
 */
export function configDifferences(config: TrainConfig, saved: SavedConfig["config"]): string[] {
  const json = (v: unknown) => JSON.stringify(v === Infinity ? null : v);
  const show = (v: unknown) => v === Infinity || v === null ? "Infinity" : JSON.stringify(v);
  const skip = new Set<string>(RESUMABLE_FIELDS);
  const out: string[] = [];
  const compare = (prefix: string, a: Record<string, unknown>, b: Record<string, unknown>) => {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (skip.has(key)) continue;
      if (key === "haat" && prefix === "") {
        compare("haat.", a.haat as Record<string, unknown>, b.haat as Record<string, unknown>);
      } else if (json(a[key]) !== json(b[key])) {
        out.push(`${prefix}${key} (${show(a[key])} here, ${show(b[key])} in the run)`);
      }
    }
  };
  compare("", config as unknown as Record<string, unknown>, saved as unknown as Record<string, unknown>);
  return out;
}
