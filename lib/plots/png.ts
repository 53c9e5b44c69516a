/**
 * SVG to PNG without a browser or a native library: resvg compiled to WebAssembly, with the DejaVu
 * Sans fonts from the `dejavu-fonts-ttf` npm package (Greek letters included), so that a figure's
 * text renders the same on every machine.
 *
 * @module
 */
import { createRequire } from "node:module";
import { initWasm, Resvg } from "./npm.ts";

let ready: Promise<Uint8Array[]> | undefined;

/** Reads a file of an installed npm package by its path inside the package. */
async function packageFile(specifier: string): Promise<Uint8Array> {
  let path: string;
  try {
    path = createRequire(import.meta.url).resolve(specifier);
  } catch (e) {
    throw new Error(
      `Cannot rasterise figures as the npm file ${specifier} was not found (run deno install): ${(e as Error).message}`,
    );
  }
  return await Deno.readFile(path);
}

/** Loads the WebAssembly module once and the fonts once; later calls reuse them. */
function load(): Promise<Uint8Array[]> {
  ready ??= (async () => {
    await initWasm(await packageFile("@resvg/resvg-wasm/index_bg.wasm"));
    return await Promise.all(
      ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf"].map((f) =>
        packageFile(`dejavu-fonts-ttf/ttf/${f}`)
      ),
    );
  })();
  return ready;
}

/** Options of `svgToPng`. */
export interface PngOptions {
  /**
   * Pixels per SVG unit: 2 gives a sharp image on high-density screens when it is shown at the
   * SVG's own width.
   * @default {2}
   */
  scale?: number;
}

/** A rasterised figure: its size in pixels, its RGBA pixels row by row, and the PNG file. */
export interface Raster {
  width: number;
  height: number;
  /** RGBA, 4 bytes a pixel, rows top to bottom. */
  pixels: Uint8Array;
  png: Uint8Array;
}

/**
 * Rasterises SVG text on a white background, each SVG unit becoming `scale` pixels, so the image is
 * (scale * width) x (scale * height) pixels. Any font family falls back to DejaVu Sans.
 *
 * @example
 * ```ts
 * import { svgToRaster } from "./png.ts";
 * const r = await svgToRaster('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="5"></svg>', { scale: 1 });
 * if (r.width !== 10 || r.pixels.length !== 10 * 5 * 4) throw new Error("wrong size");
 * ```
 * @param svg The SVG document.
 * @param options Scale.
 * @returns The pixels and the PNG.
 * @throws {Error} If the scale is not in (0, 8], or the SVG cannot be parsed.
 */
export async function svgToRaster(svg: string, options: PngOptions = {}): Promise<Raster> {
  const scale = options.scale ?? 2;
  if (!(scale > 0 && scale <= 8)) {
    throw new Error(`Cannot rasterise a figure as scale must be in (0, 8]: current value is ${scale}`);
  }
  const fontBuffers = await load();
  const resvg = new Resvg(
    svg,
    {
      background: "white",
      fitTo: { mode: "zoom", value: scale },
      font: {
        fontBuffers,
        loadSystemFonts: false,
        defaultFontFamily: "DejaVu Sans",
        sansSerifFamily: "DejaVu Sans",
        serifFamily: "DejaVu Sans",
        monospaceFamily: "DejaVu Sans",
      },
    } as ConstructorParameters<typeof Resvg>[1],
  );
  try {
    const image = resvg.render();
    try {
      return { width: image.width, height: image.height, pixels: image.pixels.slice(), png: image.asPng() };
    } finally {
      image.free();
    }
  } finally {
    resvg.free();
  }
}

/**
 * Rasterises SVG text to a PNG file (see `svgToRaster`).
 *
 * @example
 * ```ts
 * import { svgToPng } from "./png.ts";
 * const png = await svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="5"></svg>');
 * if (png[1] !== 0x50) throw new Error("not a PNG");
 * ```
 * @param svg The SVG document.
 * @param options Scale.
 * @returns The PNG file's bytes.
 * @throws {Error} If the scale is not in (0, 8], or the SVG cannot be parsed.
 */
export async function svgToPng(svg: string, options: PngOptions = {}): Promise<Uint8Array> {
  return (await svgToRaster(svg, options)).png;
}

/**
 * Base64 of bytes, as Jupyter wants images in a notebook.
 *
 * @example
 * ```ts
 * import { toBase64 } from "./png.ts";
 * if (toBase64(new Uint8Array([104, 105])) !== "aGk=") throw new Error("wrong");
 * ```
 * @param bytes The bytes.
 * @returns Their base64 text.
 */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
