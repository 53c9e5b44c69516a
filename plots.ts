/**
 * haat's figures: Observable Plot figure builders for metrics and diagnostics, rendered as SVG or PNG and
 * shown inline in a notebook. An entry point of its own, so that `mod.ts` (and the command line) pulls in
 * no plotting code (Observable Plot, linkedom, resvg and its fonts).
 *
 * @example
 * ```ts
 * import { formatNumber } from "./plots.ts";
 * if (formatNumber(0.29506437768) !== "0.295") throw new Error("formatNumber() should keep 3 significant digits");
 * ```
 *
 * @module
 */
export * from "./lib/plots/mod.ts";
