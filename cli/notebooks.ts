/**
 * `deno task notebooks`: executes every notebook in notebooks/ top to bottom, headless, with the Deno
 * kernel and Debian's Jupyter (`apt-get install jupyter-nbconvert python3-nbclient jupyter-client`),
 * and saves the outputs into the .ipynb files. Fails if a notebook cannot run, if a cell errors, or
 * if a notebook shows no SVG figure.
 *
 *   deno task notebooks [--only 01-theory]
 *
 * @module
 */
import { parseFlags, runMain } from "./_flags.ts";

/** Runs a command, returning success and its combined output. */
async function run(cmd: string, args: string[], cwd?: string): Promise<{ ok: boolean; text: string }> {
  try {
    const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return { ok: out.success, text };
  } catch (e) {
    return { ok: false, text: (e as Error).message };
  }
}

/** The outputs of a notebook's code cells: error names and MIME types. */
export function notebookOutputs(ipynb: string): { errors: string[]; svgCount: number } {
  const book = JSON.parse(ipynb);
  const errors: string[] = [];
  let svgCount = 0;
  for (const cell of book.cells) {
    for (const output of cell.outputs ?? []) {
      if (output.output_type === "error") errors.push(`${output.ename}: ${output.evalue}`);
      if (output.data?.["image/svg+xml"]) svgCount++;
    }
  }
  return { errors, svgCount };
}

if (import.meta.main) {
  await runMain(main);
}

async function main(): Promise<void> {
  const flags = parseFlags("Usage: deno task notebooks [--only <name>]", {
    only: { type: "string", help: "execute only this notebook (file name without .ipynb)" },
    jupyter: { type: "string", default: "", help: "jupyter command (default: /usr/bin/jupyter, then jupyter on PATH)" },
    timeout: { type: "string", default: "1200", help: "seconds a cell may run" },
  });
  // Debian's jupyter first: a python3 earlier on PATH (pyenv, a venv) may lack nbconvert.
  const candidates = flags.jupyter ? [flags.jupyter as string] : ["/usr/bin/jupyter", "jupyter"];
  let jupyter = "";
  for (const c of candidates) {
    if ((await run(c, ["nbconvert", "--version"])).ok) {
      jupyter = c;
      break;
    }
  }
  if (!jupyter) {
    throw new Error(
      "Cannot execute notebooks as Jupyter's nbconvert is missing: apt-get install jupyter-nbconvert python3-nbclient jupyter-client",
    );
  }
  const install = await run(Deno.execPath(), ["jupyter", "--install", "--force"]);
  if (!install.ok) throw new Error(`Cannot install the Deno Jupyter kernel: ${install.text}`);
  const dir = new URL("../notebooks/", import.meta.url).pathname;
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => /^\d\d-.*\.ipynb$/.test(n)).sort()
    .filter((n) => !flags.only || n === `${flags.only}.ipynb`);
  if (names.length === 0) throw new Error(`Cannot execute notebooks as none matches in ${dir}`);
  const failures: string[] = [];
  for (const name of names) {
    const t0 = performance.now();
    const result = await run(jupyter, [
      "nbconvert",
      "--to",
      "notebook",
      "--execute",
      "--inplace",
      `--ExecutePreprocessor.timeout=${flags.timeout}`,
      name,
    ], dir);
    const seconds = ((performance.now() - t0) / 1000).toFixed(0);
    if (!result.ok) {
      failures.push(`${name}: ${result.text.split("\n").filter((l) => l.trim()).slice(-8).join("\n")}`);
      console.log(`${name}: FAILED after ${seconds} s`);
      continue;
    }
    const { errors, svgCount } = notebookOutputs(await Deno.readTextFile(`${dir}/${name}`));
    if (errors.length > 0) failures.push(`${name}: cell errors: ${errors.join("; ")}`);
    if (svgCount === 0) failures.push(`${name}: no SVG figure`);
    console.log(`${name}: executed in ${seconds} s, ${svgCount} figures, ${errors.length} errors`);
  }
  if (failures.length > 0) throw new Error(`Notebooks failed:\n${failures.join("\n")}`);
}
