/**
 * Images as figures: a grid of small RGB images (CIFAR-10 pictures, adversarial examples, perturbations,
 * eigenvectors), each an upscaled PNG inside one SVG, with a label per row and a caption per image. PNG
 * inside SVG keeps a 32x32 picture at about 3 KB where one SVG rectangle per pixel would take 100 KB, and
 * `show()` renders the whole grid to PNG as well (resvg draws embedded images).
 *
 * @module
 */
import { encodePng } from "../io/png.ts";
import { toBase64 } from "./png.ts";
import { type Figure, fromSvg } from "./figure.ts";

/** One image of a grid: height x width x 3 values in [0, 1], row-major (NHWC without the N). */
export interface GridImage {
  pixels: ArrayLike<number>;
  height: number;
  width: number;
  /** Text under the image. */
  caption?: string;
}

/** Options of `imageGrid`. */
export interface ImageGridOptions {
  /** Drawn above the grid. */
  title: string;
  /** Column headings, one per column. */
  columns?: string[];
  /** Screen pixels per image pixel. @default 3 */
  scale?: number;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");
}

/** The image's bytes, upscaled `scale` times by repeating pixels (no smoothing: pixels stay pixels). */
function upscaled(image: GridImage, scale: number): Uint8Array {
  const { height: h, width: w, pixels } = image;
  if (pixels.length !== h * w * 3) {
    throw new Error(`Cannot draw an image as it must hold ${h} x ${w} x 3 values: current length is ${pixels.length}`);
  }
  const out = new Uint8Array(h * scale * w * scale * 3);
  for (let r = 0; r < h * scale; r++) {
    for (let c = 0; c < w * scale; c++) {
      const from = (Math.floor(r / scale) * w + Math.floor(c / scale)) * 3, to = (r * w * scale + c) * 3;
      for (let k = 0; k < 3; k++) out[to + k] = Math.round(Math.min(Math.max(pixels[from + k], 0), 1) * 255);
    }
  }
  return out;
}

/**
 * A grid of images: one row per entry of `rows`, its label on the left, a caption under each image.
 *
 * @param rows Rows of images, each with a label.
 * @param options Title, column headings, scale.
 * @returns The figure (SVG with the images as embedded PNGs).
 * @throws {Error} If an image's pixel count does not match its size.
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { imageGrid } from "./images.ts";
 * const grey = { pixels: new Array(2 * 2 * 3).fill(0.5), height: 2, width: 2, caption: "grey" };
 * const figure = await imageGrid([{ label: "row", images: [grey, grey] }], { title: "two", scale: 10 });
 * assertEquals(figure.svg.match(/<image /g)?.length, 2);
 * ```
 */
export async function imageGrid(
  rows: { label: string; images: GridImage[] }[],
  options: ImageGridOptions,
): Promise<Figure> {
  const scale = options.scale ?? 3;
  const cellWidth = Math.max(...rows.flatMap((r) => r.images.map((i) => i.width))) * scale;
  const cellHeight = Math.max(...rows.flatMap((r) => r.images.map((i) => i.height))) * scale;
  const labelWidth = Math.max(0, ...rows.map((r) => r.label.length)) * 7 + 12;
  const captions = rows.some((r) => r.images.some((i) => i.caption));
  const columnGap = 10, rowHeight = cellHeight + (captions ? 18 : 0) + 8;
  const top = 28 + (options.columns ? 18 : 0);
  const columns = Math.max(...rows.map((r) => r.images.length));
  const width = labelWidth + columns * (cellWidth + columnGap);
  const height = top + rows.length * rowHeight;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="system-ui, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="4" y="18" font-size="14" font-weight="bold">${escapeXml(options.title)}</text>`,
  ];
  (options.columns ?? []).forEach((heading, j) => {
    const x = labelWidth + j * (cellWidth + columnGap) + cellWidth / 2;
    parts.push(`<text x="${x}" y="${top - 6}" font-size="11" text-anchor="middle">${escapeXml(heading)}</text>`);
  });
  for (const [i, row] of rows.entries()) {
    const y = top + i * rowHeight;
    parts.push(`<text x="4" y="${y + cellHeight / 2 + 4}" font-size="12">${escapeXml(row.label)}</text>`);
    for (const [j, image] of row.images.entries()) {
      const x = labelWidth + j * (cellWidth + columnGap);
      const png = await encodePng(upscaled(image, scale), image.width * scale, image.height * scale);
      parts.push(
        `<image x="${x}" y="${y}" width="${image.width * scale}" height="${image.height * scale}" ` +
          `href="data:image/png;base64,${toBase64(png)}"/>`,
      );
      if (image.caption) {
        parts.push(
          `<text x="${x + cellWidth / 2}" y="${y + cellHeight + 13}" font-size="10" text-anchor="middle">` +
            `${escapeXml(image.caption)}</text>`,
        );
      }
    }
  }
  parts.push("</svg>");
  return fromSvg(parts.join(""), options.title);
}

/**
 * A signed image (a perturbation, an eigenvector) as a viewable one: 0.5 + v / (2 m), so that -m is black,
 * 0 mid-grey and +m white, per channel; m is `scale` or, by default, the largest |v|.
 *
 * @param values The signed values.
 * @param scale The magnitude drawn white (eps for a perturbation in the eps-ball). @default max |v|
 * @returns Values in [0, 1].
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { signedToViewable } from "./images.ts";
 * assertEquals([...signedToViewable([-2, 0, 1])], [0, 0.5, 0.75]);
 * assertEquals([...signedToViewable([-2, 0, 1], 1)], [0, 0.5, 1]); // beyond the scale: clipped
 * ```
 */
export function signedToViewable(values: ArrayLike<number>, scale?: number): Float32Array {
  let m = scale ?? 0;
  if (scale === undefined) { for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i])); }
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = m > 0 ? Math.min(Math.max(0.5 + values[i] / (2 * m), 0), 1) : 0.5;
  return out;
}
