/**
 * `deno task notebooks`: executes every notebook in notebooks/ top to bottom, headless, with the Deno
 * kernel and Debian's Jupyter (`apt-get install jupyter-nbconvert python3-nbclient jupyter-client`),
 * and saves the outputs into the .ipynb files; with `--html <dir>` it also writes each notebook as
 * HTML (nbconvert, figures as PNG). Fails if a notebook cannot run, if a cell errors, if a cell that
 * prints has no output, if a notebook shows no figure or a figure without its PNG, or if an HTML page
 * lacks a figure.
 *
 *   deno task notebooks [--only 01-theory] [--html out/] [--no-execute]
 *
 * The kernels run on the wasm backend (XNNPACK, one thread) unless `HAAT_BACKEND` names another: its
 * WebAssembly arithmetic is the same bit for bit on every CPU, so the committed outputs, and the
 * numbers the prose cites from them, come out the same on any machine that re-executes them (CI
 * included). oneDNN picks kernels by instruction set, and the cells that show float32 rounding noise
 * (xi = 1e-6) would then differ between CPUs.
 *
 * @module
 */
import { parseFlags, runMain } from "./_flags.ts";
import { readEnv } from "../lib/env.ts";

/** Runs a command, returning success and its combined output. */
async function run(cmd: string, args: string[], cwd?: string): Promise<{ ok: boolean; text: string }> {
  try {
    const env = { HAAT_BACKEND: readEnv("HAAT_BACKEND") ?? "wasm" };
    const out = await new Deno.Command(cmd, { args, cwd, env, stdout: "piped", stderr: "piped" }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return { ok: out.success, text };
  } catch (e) {
    return { ok: false, text: (e as Error).message };
  }
}

/** What a notebook's code cells output: errors, and figures by MIME type. */
export interface NotebookOutputs {
  /** `ename: evalue` of each error output. */
  errors: string[];
  /** Outputs with an SVG figure. */
  svgCount: number;
  /** Outputs with a PNG image. */
  pngCount: number;
  /** Outputs with an SVG figure but no PNG beside it (shown by no untrusted view). */
  svgWithoutPng: number;
  /** Code cells that print or show something (by their source) but have no output: output was lost. */
  silentCells: number;
}

/**
 * Reads a notebook's outputs: error names and the figures it shows, by MIME type.
 *
 * @example
 * ```ts
 * import { notebookOutputs } from "./notebooks.ts";
 * const book = { cells: [{ outputs: [{ output_type: "display_data", data: { "image/png": "AA==" } }] }] };
 * if (notebookOutputs(JSON.stringify(book)).pngCount !== 1) throw new Error();
 * ```
 * @param ipynb The notebook's JSON text.
 * @returns The counts.
 */
export function notebookOutputs(ipynb: string): NotebookOutputs {
  const book = JSON.parse(ipynb);
  const result: NotebookOutputs = { errors: [], svgCount: 0, pngCount: 0, svgWithoutPng: 0, silentCells: 0 };
  for (const cell of book.cells) {
    const source = Array.isArray(cell.source) ? cell.source.join("") : String(cell.source ?? "");
    if (cell.cell_type === "code" && /plots\.show\(|console\.(log|table)\(/.test(source)) {
      if ((cell.outputs ?? []).length === 0) result.silentCells++;
    }
    for (const output of cell.outputs ?? []) {
      if (output.output_type === "error") result.errors.push(`${output.ename}: ${output.evalue}`);
      const svg = Boolean(output.data?.["image/svg+xml"]), png = Boolean(output.data?.["image/png"]);
      if (svg) result.svgCount++;
      if (png) result.pngCount++;
      if (svg && !png) result.svgWithoutPng++;
    }
  }
  return result;
}

/**
 * The MIME types nbconvert may pick for HTML, best first: PNG before SVG, because Debian's nbconvert
 * 6.5 strips the contents of inline SVG and leaves an empty box.
 */
export const HTML_PRIORITY = ["text/html", "text/markdown", "image/png", "image/jpeg", "image/svg+xml", "text/plain"];

/** Where the exported HTML loads its scripts from: upstream nbconvert's defaults, never the file system. */
export const HTML_SCRIPTS = {
  mathjax_url: "https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/latest.js?config=TeX-AMS_CHTML-full,Safe",
  require_js_url: "https://cdnjs.cloudflare.com/ajax/libs/require.js/2.1.10/require.min.js",
  jquery_url: "https://code.jquery.com/jquery-3.5.1.min.js",
};

/** Finds a Jupyter whose nbconvert works: Debian's first, then the one on PATH. */
export async function findJupyter(preferred = ""): Promise<string | undefined> {
  // Debian's jupyter first: a python3 earlier on PATH (pyenv, a venv) may lack nbconvert.
  for (const c of preferred ? [preferred] : ["/usr/bin/jupyter", "jupyter"]) {
    if ((await run(c, ["nbconvert", "--version"])).ok) return c;
  }
  return undefined;
}

/**
 * Writes a notebook as HTML with nbconvert (PNG figures) and counts the images in it.
 *
 * @param jupyter The jupyter command.
 * @param notebook Path of the .ipynb file.
 * @param outDir Folder for the HTML file.
 * @returns The HTML file's path and its count of embedded PNG images.
 * @throws {Error} If nbconvert fails.
 */
export async function writeHtml(
  jupyter: string,
  notebook: string,
  outDir: string,
): Promise<{ path: string; images: number }> {
  await Deno.mkdir(outDir, { recursive: true });
  const result = await run(jupyter, [
    "nbconvert",
    "--to",
    "html",
    `--NbConvertBase.display_data_priority=${JSON.stringify(HTML_PRIORITY)}`,
    // Debian's nbconvert points MathJax, require.js and jQuery at file:///usr/share/javascript, which a reader's
    // machine may lack and a browser may refuse: the HTML loads them from the CDNs upstream nbconvert uses.
    ...Object.entries(HTML_SCRIPTS).map(([k, v]) => `--HTMLExporter.${k}=${v}`),
    "--output-dir",
    outDir,
    notebook,
  ]);
  if (!result.ok) throw new Error(`Cannot write ${notebook} as HTML: ${result.text.trim().split("\n").slice(-3)}`);
  const name = notebook.split("/").pop()!.replace(/\.ipynb$/, ".html");
  const path = `${outDir.replace(/\/$/, "")}/${name}`;
  const html = await Deno.readTextFile(path);
  const local = html.match(/file:\/\/[^"' )]*/);
  if (local) {
    throw new Error(`Cannot write ${notebook} as HTML that loads nothing from the file system: it loads ${local[0]}`);
  }
  return { path, images: html.split('<img src="data:image/png;base64,').length - 1 };
}

if (import.meta.main) {
  await runMain(main);
}

async function main(): Promise<void> {
  const flags = parseFlags("Usage: deno task notebooks [--only <name>] [--html <dir>] [--no-execute]", {
    only: { type: "string", help: "execute only this notebook (file name without .ipynb)" },
    html: { type: "string", help: "also write each notebook as HTML into this folder" },
    "no-execute": { type: "boolean", default: false, help: "do not execute; only check (and with --html convert)" },
    jupyter: { type: "string", default: "", help: "jupyter command (default: /usr/bin/jupyter, then jupyter on PATH)" },
    timeout: { type: "string", default: "1200", help: "seconds a cell may run" },
  });
  const jupyter = await findJupyter(flags.jupyter as string);
  if (!jupyter) {
    throw new Error(
      "Cannot execute notebooks as Jupyter's nbconvert is missing: apt-get install jupyter-nbconvert python3-nbclient jupyter-client",
    );
  }
  const execute = !flags["no-execute"];
  if (execute) {
    const install = await run(Deno.execPath(), ["jupyter", "--install", "--force"]);
    if (!install.ok) throw new Error(`Cannot install the Deno Jupyter kernel: ${install.text}`);
  }
  const dir = new URL("../notebooks/", import.meta.url).pathname;
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => /^\d\d-.*\.ipynb$/.test(n)).sort()
    .filter((n) => !flags.only || n === `${flags.only}.ipynb`);
  if (names.length === 0) throw new Error(`Cannot execute notebooks as none matches in ${dir}`);
  const failures: string[] = [];
  for (const name of names) {
    const t0 = performance.now();
    if (execute) {
      const result = await run(jupyter, [
        "nbconvert",
        "--to",
        "notebook",
        "--execute",
        "--inplace",
        `--ExecutePreprocessor.timeout=${flags.timeout}`,
        name,
      ], dir);
      if (!result.ok) {
        failures.push(`${name}: ${result.text.split("\n").filter((l) => l.trim()).slice(-8).join("\n")}`);
        console.log(`${name}: FAILED after ${((performance.now() - t0) / 1000).toFixed(0)} s`);
        continue;
      }
    }
    const seconds = ((performance.now() - t0) / 1000).toFixed(0);
    const outputs = notebookOutputs(await Deno.readTextFile(`${dir}/${name}`));
    if (outputs.errors.length > 0) failures.push(`${name}: cell errors: ${outputs.errors.join("; ")}`);
    if (outputs.svgCount === 0) failures.push(`${name}: no figure`);
    if (outputs.svgWithoutPng > 0) failures.push(`${name}: ${outputs.svgWithoutPng} figures without a PNG`);
    if (outputs.silentCells > 0) failures.push(`${name}: ${outputs.silentCells} cells lost their output (run again)`);
    let html = "";
    if (flags.html) {
      const page = await writeHtml(jupyter, `${dir}/${name}`, flags.html as string);
      if (page.images !== outputs.pngCount) {
        failures.push(`${name}: ${page.path} shows ${page.images} of ${outputs.pngCount} figures`);
      }
      html = `; ${page.path}`;
    }
    console.log(
      `${name}: ${execute ? `executed in ${seconds} s, ` : ""}${outputs.svgCount} figures, ` +
        `${outputs.errors.length} errors${html}`,
    );
  }
  if (failures.length > 0) throw new Error(`Notebooks failed:\n${failures.join("\n")}`);
}
