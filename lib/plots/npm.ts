/**
 * The one place that names the plotting packages and their pinned versions (full `npm:` specifiers,
 * so that `mod.ts` works imported by URL).
 *
 * @module
 */
export * as Plot from "npm:@observablehq/plot@0.6.17";
export { parseHTML } from "npm:linkedom@0.18.15";
