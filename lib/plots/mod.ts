/**
 * `plots`: the figures of the notebooks, as functions from data to SVG (Observable Plot).
 *
 * @module
 */
export * from "./figure.ts";
export * from "./figures.ts";
