/**
 * `plots`: the notebooks' figures, as functions from data to SVG (Observable Plot), their PNG
 * rendering, and `show()`, which puts figures, tables and text into a Jupyter notebook.
 *
 * @module
 */
export * from "./figure.ts";
export { type LegendEntry, PALETTE } from "./_legend.ts";
export * from "./figures.ts";
export * from "./hessian_figures.ts";
export * from "./png.ts";
export * from "./images.ts";
export * from "./display.ts";
