/**
 * The trained models this repository commits, by run name, wherever the module was loaded from.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

/** Run names: a directory under `results/`, or one level deeper (`grid/pgd`). */
const RUN_NAME = /^[a-z0-9][a-z0-9.-]*(\/[a-z0-9][a-z0-9.-]*)?$/;

/**
 * Where the best model of a committed run lies: `results/<run>/best`, resolved against this module's own
 * URL. In a checkout that is a local path; when `mod.ts` was imported by URL from the repository's raw
 * files (`https://<host>/<repo>/<revision>/mod.ts`), it is the https URL of that folder beside it, which
 * `loadModel` downloads and checks against the weights' SHA-256. So a notebook or script can load a real
 * model without training, from a checkout or from the repository's URL alike.
 *
 * @param run A run directory under `results/`, e.g. `"pgd-w16-s0"` (or `"grid/pgd"`).
 * @param base The URL to resolve against. @default this module's URL
 * @returns A path (file URLs) or an http(s) URL, for `loadModel`.
 * @throws {Error} If `run` is not a plain directory name (no `..`, no absolute path).
 * @example
 * ```ts
 * import { trainedModel } from "./trained.ts";
 * console.log(trainedModel("pgd-w8", "https://example.org/haat/main/lib/models/trained.ts"));
 * // https://example.org/haat/main/results/pgd-w8/best
 * ```
 */
export function trainedModel(run: string, base: string | URL = import.meta.url): string {
  if (typeof run !== "string" || !RUN_NAME.test(run) || run.split("/").includes("..")) {
    throw new Error(
      `Cannot name a trained model as run must be a directory under results/ such as pgd-w16-s0: current value is ${run}`,
    );
  }
  const url = new URL(`../../results/${run}/best`, base);
  return url.protocol === "file:" ? fileURLToPath(url) : url.href;
}
