/**
 * The one place that names the plotting packages and their pinned versions (full `npm:` specifiers,
 * so that `mod.ts` works imported by URL): Observable Plot and linkedom draw the SVG; resvg (Rust,
 * compiled to WebAssembly, no native download) rasterises it to PNG with the DejaVu Sans TrueType
 * fonts, which an npm package ships.
 *
 * @module
 */
/**
 * Observable Plot (pinned), for figures of one's own beside the project's; `render()` turns its options into
 * a `Figure`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { Plot, render } from "../../plots.ts";
 * const figure = render({ title: "squares", marks: [Plot.dot([[1, 1], [2, 4]])] });
 * assert.strictEqual(figure.title, "squares");
 * assert.ok(figure.svg.startsWith("<svg"));
 * ```
 */
export * as Plot from "npm:@observablehq/plot@0.6.17";
export { parseHTML } from "npm:linkedom@0.18.15";
export { initWasm, Resvg } from "npm:@resvg/resvg-wasm@2.6.2";
// Brings the font package into the module graph, so that Deno installs it; the files are read by path.
// A full specifier, like the exports above, so that mod.ts works imported by URL.
// deno-lint-ignore no-import-prefix
import "npm:dejavu-fonts-ttf@2.37.3/package.json" with { type: "json" };
