/**
 * Showing figures, tables and text in a Deno Jupyter notebook so that every view shows them and a
 * headless run keeps them.
 *
 * Two facts about the Deno kernel shape this. A cell's `console.log` output goes into a queue that a
 * separate task of the kernel empties onto Jupyter's output channel; a cell that ends right after
 * printing can be reported finished before that task has run, and a headless run (nbclient) then
 * drops the last lines (notebook 3 once lost a whole line that way). And Jupyter does not show SVG
 * in an untrusted notebook (every freshly cloned one). So `show()` first yields to the event loop,
 * which lets the kernel send what the cell printed before, then publishes through the kernel's own
 * channel and waits until that is sent; and a figure goes out as SVG and as PNG.
 *
 * @module
 */
import type { Figure } from "./figure.ts";
import { svgToPng, toBase64 } from "./png.ts";

/** A table for `show()`: the same rows as Markdown (for notebooks) and as aligned plain text. */
export interface Table {
  /** The table in Markdown. */
  markdown: string;
  /** The table as aligned plain text, for terminals and for the notebook's `text/plain`. */
  text: string;
}

/**
 * Formats a number for a table or a sentence: integers in full, other values to `digits`
 * significant digits, and values below 0.01 or from 1e6 in 1.23e-7 style.
 *
 * @example
 * ```ts
 * import { formatNumber } from "./display.ts";
 * if (formatNumber(0.29506437768) !== "0.295" || formatNumber(1e-6) !== "1e-6") throw new Error();
 * ```
 * @param value The number.
 * @param digits Significant digits.
 * @returns The text.
 */
export function formatNumber(value: number, digits = 3): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e6) return String(value);
  if (!Number.isFinite(value) || value === 0) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude < 1e-2 || magnitude >= 1e6) {
    return value.toExponential(digits - 1).replace(/\.?0+e/, "e").replace("e+", "e");
  }
  return String(Number(value.toPrecision(digits)));
}

/**
 * Builds a table from rows of named cells: numbers are formatted by `formatNumber` to 4 significant
 * digits (never quoted),
 * strings are shown as they are. The columns are the keys of the first row, in order.
 *
 * @example
 * ```ts
 * import { table } from "./display.ts";
 * const t = table([{ xi: 1e-6, error: 133.2 }]);
 * if (!t.markdown.includes("| 1e-6 | 133.2 |")) throw new Error(t.markdown);
 * ```
 * @param rows The rows.
 * @returns The table.
 * @throws {Error} If there are no rows.
 */
export function table(rows: Record<string, string | number | boolean | null>[]): Table {
  if (rows.length === 0) throw new Error("Cannot make a table as there are no rows: current count is 0");
  const columns = Object.keys(rows[0]);
  const cell = (v: string | number | boolean | null | undefined) =>
    typeof v === "number" ? formatNumber(v, 4) : v === null || v === undefined ? "-" : String(v);
  const body = rows.map((r) => columns.map((c) => cell(r[c])));
  const numeric = columns.map((c) => rows.every((r) => typeof r[c] === "number"));
  const escape = (s: string) => s.replace(/\|/g, "\\|");
  const markdown = [
    `| ${columns.map(escape).join(" | ")} |`,
    `| ${numeric.map((n) => (n ? "---:" : ":---")).join(" | ")} |`,
    ...body.map((cells) => `| ${cells.map(escape).join(" | ")} |`),
  ].join("\n");
  const widths = columns.map((c, j) => Math.max(c.length, ...body.map((cells) => cells[j].length)));
  const pad = (s: string, j: number) => (numeric[j] ? s.padStart(widths[j]) : s.padEnd(widths[j]));
  const text = [
    columns.map(pad).join("  "),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...body.map((cells) => cells.map(pad).join("  ")),
  ].map((l) => l.trimEnd()).join("\n");
  return { markdown, text };
}

type Jupyter = {
  broadcast(type: string, content: Record<string, unknown>): Promise<void>;
};

/** The kernel's API, or undefined outside a Jupyter kernel. */
function jupyter(): Jupyter | undefined {
  try {
    return (Deno as unknown as { jupyter: Jupyter }).jupyter; // a getter that throws outside the kernel
  } catch {
    return undefined;
  }
}

/**
 * Shows a figure, a table or text in a Deno Jupyter notebook, after what the cell printed before, and
 * waits until the kernel has sent it.
 * A figure goes out as `image/svg+xml` (trusted views) and as a PNG at twice its size, displayed at
 * its own width (untrusted views, GitHub, HTML export); a table as Markdown and plain text; text as
 * the cell's stdout. Outside Jupyter, a table or text is printed with `console.log` and a figure is
 * skipped.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { show, table } from "./display.ts";
 * // Outside Jupyter, a table or text is printed: catch what console.log gets.
 * const printed: unknown[] = [], log = console.log;
 * console.log = (...args: unknown[]) => printed.push(...args);
 * try {
 *   await show(table([{ a: 1 }]));
 *   await show("done");
 * } finally {
 *   console.log = log;
 * }
 * assert.deepStrictEqual(printed, ["a\n-\n1", "done"]);
 * ```
 * @param item What to show.
 */
export async function show(item: Figure | Table | string): Promise<void> {
  const kernel = jupyter();
  if (kernel) await settle();
  if (typeof item === "string") {
    if (!kernel) return console.log(item);
    await kernel.broadcast("stream", { name: "stdout", text: item.endsWith("\n") ? item : `${item}\n` });
    return await settle();
  }
  if ("markdown" in item) {
    if (!kernel) return console.log(item.text);
    await kernel.broadcast("display_data", {
      data: { "text/markdown": item.markdown, "text/plain": item.text },
      metadata: {},
      transient: {},
    });
    return await settle();
  }
  if (!kernel) return;
  const png = toBase64(await svgToPng(item.svg, { scale: 2 }));
  await kernel.broadcast("display_data", {
    data: { "image/svg+xml": item.svg, "image/png": png, "text/plain": `<figure: ${item.title}>` },
    metadata: { "image/png": { width: item.width, height: item.height } },
    transient: {},
  });
  await settle();
}

/**
 * Yields to the event loop for a moment, so that the kernel's tasks send what is queued: what the
 * cell printed before an item, and the item itself before the cell can end.
 */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 30));
}
