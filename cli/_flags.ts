/**
 * Shared command-line helpers: flag parsing (Node's `util.parseArgs`, built into Deno; JSR's
 * `@std/cli` is not reachable from the registries this project may use) and the `--help` text.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** A flag: its type, default and help line. */
export interface FlagSpec {
  type: "string" | "boolean";
  default?: string | boolean;
  help: string;
}

/**
 * Parses `Deno.args` with the given flags; prints help and exits on `--help`; exits with a clear
 * message on an unknown flag.
 *
 * @param usage First line of the help text.
 * @param flags Flags by name.
 * @returns Flag values by name.
 */
export function parseFlags(
  usage: string,
  flags: Record<string, FlagSpec>,
): Record<string, string | boolean | undefined> {
  const options: Record<string, { type: "string" | "boolean"; default?: string | boolean }> = {
    help: { type: "boolean" },
  };
  for (const [name, spec] of Object.entries(flags)) options[name] = { type: spec.type, default: spec.default };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: Deno.args, options, strict: true, allowPositionals: false }).values as typeof values;
  } catch (e) {
    console.error(`${(e as Error).message}\n(see --help)`);
    Deno.exit(2);
  }
  if (values.help) {
    console.log(usage + "\n\nFlags:");
    for (const [name, spec] of Object.entries(flags)) {
      const def = spec.default === undefined ? "" : ` (default: ${spec.default})`;
      console.log(`  --${name.padEnd(16)} ${spec.help}${def}`);
    }
    Deno.exit(0);
  }
  return values;
}

/**
 * Reads a number flag; accepts fractions such as "8/255".
 *
 * @param name Flag name, for the message.
 * @param value The flag's text.
 * @returns The number.
 * @throws {Error} If the text is not a number or a fraction.
 */
export function numberFlag(name: string, value: string | boolean | undefined): number {
  const text = String(value);
  const m = text.match(/^\s*([-+\d.eE]+)\s*\/\s*([-+\d.eE]+)\s*$/);
  const n = m ? Number(m[1]) / Number(m[2]) : text === "Infinity" ? Infinity : Number(text);
  if (Number.isNaN(n)) throw new Error(`Cannot read --${name} as a number: current value is ${text}`);
  return n;
}

/** Runs a command's main, printing an error's message (not a stack) and exiting 1 on failure. */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    if (Deno.env.get("HAAT_DEBUG")) console.error(e);
    Deno.exit(1);
  }
}
