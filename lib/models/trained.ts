/**
 * The trained models this repository commits, by run name, wherever the module was loaded from, and
 * what each one's files must be: `loadModel` checks a committed model's width, weights file and size
 * against this table before it builds anything.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

/** What a committed model's `best/` holds. */
export interface TrainedModelInfo {
  /** ResNet18 base width. */
  width: number;
  /** The weights file `model.json` names: `weights-<first 16 hex digits of its SHA-256>.bin`. */
  weightsFile: string;
  /** Its size in bytes (4 a value in float32, 2 in float16). */
  bytes: number;
}

/**
 * Every committed model (`results/<run>/best`), with its width, weights file and size. A test checks
 * this table against the files, both ways.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { TRAINED_MODELS } from "./trained.ts";
 * const info = TRAINED_MODELS["pgd-w8"];
 * assert.strictEqual(info.width, 8);
 * assert.match(info.weightsFile, /^weights-[0-9a-f]{16}\.bin$/);
 * assert.strictEqual(info.bytes % 4, 0); // float32: 4 bytes a value
 * ```
 */
export const TRAINED_MODELS: Readonly<Record<string, TrainedModelInfo>> = Object.freeze({
  "pgd-w8": { width: 8, weightsFile: "weights-7905990c2321fc95.bin", bytes: 710408 },
  "haat-w8": { width: 8, weightsFile: "weights-9e3300e132a787bb.bin", bytes: 710408 },
  "pgd-w16-s0": { width: 16, weightsFile: "weights-fdcbc267db335b35.bin", bytes: 2815464 },
  "pgd-w16-s1": { width: 16, weightsFile: "weights-12fe300dce63413e.bin", bytes: 2815464 },
  "haat-paper-w16-s0": { width: 16, weightsFile: "weights-58f034afe63cac4c.bin", bytes: 2815464 },
  "haat-paper-w16-s1": { width: 16, weightsFile: "weights-f15baae71a68f9f1.bin", bytes: 2815464 },
  "haat-fd-w16-s0": { width: 16, weightsFile: "weights-16b25b863f2577a6.bin", bytes: 2815464 },
  "haat-fd-w16-s1": { width: 16, weightsFile: "weights-f3d61709975a59d2.bin", bytes: 2815464 },
  "fgsm-rs-w64": { width: 64, weightsFile: "weights-afdfe1e3e9232b8a.bin", bytes: 22367124 },
  "fgsm-rs-w16": { width: 16, weightsFile: "weights-bd53ee4226cd3cb7.bin", bytes: 1407732 },
  "standard-w16": { width: 16, weightsFile: "weights-bc829b53ecd0bbe3.bin", bytes: 1407732 },
  "finetune/pgd-s0": { width: 16, weightsFile: "weights-fca9274c8245dc3c.bin", bytes: 1407732 },
  "finetune/pgd-s1": { width: 16, weightsFile: "weights-a7e687c48e8d4ce1.bin", bytes: 1407732 },
  "finetune/pgd-s2": { width: 16, weightsFile: "weights-2a5e02cea4f6d858.bin", bytes: 2815464 },
  "finetune/haat-warm-s0": { width: 16, weightsFile: "weights-91698bba1adb190a.bin", bytes: 1407732 },
  "finetune/haat-warm-s1": { width: 16, weightsFile: "weights-7374bd9c98fa4171.bin", bytes: 1407732 },
  "finetune/haat-warm-s2": { width: 16, weightsFile: "weights-b9c1f33dcb10c6c3.bin", bytes: 1407732 },
  "grid/pgd": { width: 8, weightsFile: "weights-80fb07c5069355ec.bin", bytes: 710408 },
  "grid/xi1e-1-k1": { width: 8, weightsFile: "weights-68fc23897d9f9d82.bin", bytes: 710408 },
  "grid/xi1e-1-k2": { width: 8, weightsFile: "weights-433bcd1109fec0c8.bin", bytes: 710408 },
  "grid/xi1e-1-k5": { width: 8, weightsFile: "weights-a3f397d29b3dea29.bin", bytes: 710408 },
  "grid/xi1e-3-k1": { width: 8, weightsFile: "weights-759e2b5e3f912aa9.bin", bytes: 710408 },
  "grid/xi1e-3-k2": { width: 8, weightsFile: "weights-1ebfd6f14b313612.bin", bytes: 710408 },
  "grid/xi1e-3-k5": { width: 8, weightsFile: "weights-77a4f403acf23340.bin", bytes: 710408 },
  "grid/xi1e-5-k1": { width: 8, weightsFile: "weights-204e2d802f1a3bc7.bin", bytes: 710408 },
  "grid/xi1e-5-k2": { width: 8, weightsFile: "weights-4a9c5224d802f443.bin", bytes: 710408 },
  "grid/xi1e-5-k5": { width: 8, weightsFile: "weights-3a0f31c4edad6235.bin", bytes: 710408 },
  "grid/xi1e-6-k1": { width: 8, weightsFile: "weights-2f37a9c379c57d71.bin", bytes: 710408 },
  "grid/xi1e-6-k2": { width: 8, weightsFile: "weights-ec10b140e0e103b0.bin", bytes: 710408 },
  "grid/xi1e-6-k5": { width: 8, weightsFile: "weights-9d1eba5a4ce5d845.bin", bytes: 710408 },
});

/**
 * Where the best model of a committed run lies: `results/<run>/best`, resolved against this module's own
 * URL. In a checkout that is a local path; when `mod.ts` was imported by URL from the repository's raw
 * files (`https://<host>/<repo>/<revision>/mod.ts`), it is the https URL of that folder beside it, which
 * `loadModel` downloads and checks against `TRAINED_MODELS` and the weights' SHA-256. So a notebook or
 * script can load a real model without training, from a checkout or from the repository's URL alike.
 *
 * @param run A committed run, e.g. `"pgd-w16-s0"` or `"grid/pgd"` (the keys of `TRAINED_MODELS`).
 * @param base The URL to resolve against. @default this module's URL
 * @returns A path (file URLs) or an http(s) URL, for `loadModel`.
 * @throws {Error} If `run` is not a committed model, naming the ones there are.
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { trainedModel } from "./trained.ts";
 * assertEquals(
 *   trainedModel("pgd-w8", "https://example.org/haat/main/lib/models/trained.ts"),
 *   "https://example.org/haat/main/results/pgd-w8/best",
 * );
 * ```
 */
export function trainedModel(run: string, base: string | URL = import.meta.url): string {
  if (typeof run !== "string" || !Object.hasOwn(TRAINED_MODELS, run)) {
    throw new Error(
      `Cannot name a trained model as run must be one of the committed models (${
        Object.keys(TRAINED_MODELS).join(", ")
      }): current value is ${run === "" ? '""' : run}`,
    );
  }
  const url = new URL(`../../results/${run}/best`, base);
  return url.protocol === "file:" ? fileURLToPath(url) : url.href;
}

/**
 * The committed model a location names, if it ends in `results/<run>/best` for a run of
 * `TRAINED_MODELS` (as `trainedModel` makes them), with what its files must be.
 *
 * @param location A directory or URL given to `loadModel`.
 * @returns The run and its info, or undefined for any other location.
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { expectedTrainedModel } from "./trained.ts";
 * assertEquals(expectedTrainedModel("https://example.org/haat/main/results/pgd-w8/best/")?.info.width, 8);
 * assertEquals(expectedTrainedModel("/tmp/my-run/best"), undefined);
 * ```
 */
export function expectedTrainedModel(location: string): { run: string; info: TrainedModelInfo } | undefined {
  const match = location.replace(/\/+$/, "").match(
    /(?:^|\/)results\/([a-z0-9][a-z0-9.-]*(?:\/[a-z0-9][a-z0-9.-]*)?)\/best$/,
  );
  if (!match || !Object.hasOwn(TRAINED_MODELS, match[1])) return undefined;
  return { run: match[1], info: TRAINED_MODELS[match[1]] };
}
