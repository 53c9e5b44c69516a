/**
 * Shared command-line helpers: flag parsing (Node's `util.parseArgs`, built into Deno; JSR's
 * `@std/cli` is not reachable from the registries this project may use), the `--help` text, and
 * strict readers of number flags, so that every flag is checked before a command does anything.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { readEnv } from "../lib/env.ts";

/** A flag: its type, default and help line. */
export interface FlagSpec {
  type: "string" | "boolean";
  default?: string | boolean;
  help: string;
}

/** Parsed flags: values by name (defaults filled in), and which flags the command line gave. */
export type Flags = Record<string, string | boolean | undefined> & { readonly given: ReadonlySet<string> };

/**
 * Parses command-line arguments with the given flags; prints help and exits 0 on `--help` or `-h`;
 * exits 2 with a clear message on an unknown flag, a positional argument, a string flag given
 * an empty value (`--seed=`, or `--resume "$UNSET"`), or a flag given twice with different values
 * (`--epochs 2 ... --epochs 3`: the last one would win silently, and a long run would not be the one
 * its command line seems to say; the same value twice is harmless and accepted).
 *
 * @param usage First line of the help text.
 * @param flags Flags by name.
 * @param args The arguments. @default Deno.args
 * @returns Flag values by name, and the names given on the command line in `given`.
 */
export function parseFlags(usage: string, flags: Record<string, FlagSpec>, args: string[] = Deno.args): Flags {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const [name, spec] of Object.entries(flags)) options[name] = { type: spec.type };
  let values: Record<string, string | boolean | undefined>;
  try {
    const parsed = parseArgs({ args, options, strict: true, allowPositionals: false, tokens: true });
    values = parsed.values as typeof values;
    const seen = new Map<string, string | undefined>();
    for (const token of parsed.tokens ?? []) {
      if (token.kind !== "option") continue;
      if (seen.has(token.name) && seen.get(token.name) !== token.value) {
        throw new Error(
          `Cannot read --${token.name} as it is given twice, as ${seen.get(token.name) ?? "a switch"} and as ` +
            `${token.value ?? "a switch"}: give it once`,
        );
      }
      seen.set(token.name, token.value);
    }
    const empty = Object.entries(values).find(([, v]) => v === "");
    if (empty) {
      throw new Error(`Cannot read --${empty[0]} as its value is empty (an unset shell variable?): give a value`);
    }
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n(see --help)`);
    Deno.exit(2);
  }
  if (values.help) {
    console.log(usage + "\n\nFlags:");
    for (const [name, spec] of Object.entries(flags)) {
      const def = spec.default === undefined || spec.default === "" ? "" : ` (default: ${spec.default})`;
      console.log(`  --${name.padEnd(18)} ${spec.help}${def}`);
    }
    console.log(`  -h, --${"help".padEnd(14)} this text`);
    Deno.exit(0);
  }
  const given = new Set(Object.keys(values).filter((k) => k !== "help"));
  const out: Record<string, string | boolean | undefined> = {};
  for (const [name, spec] of Object.entries(flags)) out[name] = values[name] ?? spec.default;
  return Object.assign(out, { given }) as Flags;
}

/** A decimal number: digits with an optional point and exponent, no hex, no sign-only, no spaces. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Reads a number flag: a decimal number (`0.1`, `1e-6`), a fraction of two (`8/255`), or `Infinity`.
 *
 * @param name Flag name, for the message.
 * @param value The flag's text.
 * @returns The number.
 * @throws {Error} If the text is anything else (`0x2`, `1,5`, ``).
 * @example
 * ```ts
 * import { numberFlag } from "./_flags.ts";
 * console.log(numberFlag("eps", "8/255") === 8 / 255); // true
 * ```
 */
export function numberFlag(name: string, value: string | boolean | undefined): number {
  const text = String(value);
  if (text === "Infinity") return Infinity;
  const m = text.match(/^([^/]+)\/([^/]+)$/);
  if (m && DECIMAL.test(m[1]) && DECIMAL.test(m[2])) return Number(m[1]) / Number(m[2]);
  if (DECIMAL.test(text)) return Number(text);
  throw new Error(`Cannot read --${name} as a number (decimal, or a fraction such as 8/255): current value is ${text}`);
}

/**
 * Reads an integer flag: decimal digits only (not `0x2`, `1e3` or `2.5`), at least `min`; with
 * `infinity` also `Infinity`, meaning all.
 *
 * @param name Flag name, for the message.
 * @param value The flag's text.
 * @param options `min` (default 0) and `infinity` (default false).
 * @returns The integer (or Infinity).
 * @throws {Error} Naming the flag, the rule and the value.
 * @example
 * ```ts
 * import { integerFlag } from "./_flags.ts";
 * console.log(integerFlag("epochs", "12", { min: 1 })); // 12
 * ```
 */
export function integerFlag(
  name: string,
  value: string | boolean | undefined,
  options: { min?: number; infinity?: boolean } = {},
): number {
  const text = String(value), min = options.min ?? 0;
  if (options.infinity && text === "Infinity") return Infinity;
  const n = /^\+?\d+$/.test(text) ? Number(text) : NaN;
  if (!(Number.isSafeInteger(n) && n >= min)) {
    throw new Error(
      `Cannot read --${name} as it must be a decimal integer >= ${min}${
        options.infinity ? " (or Infinity: all)" : ""
      }: current value is ${text}`,
    );
  }
  return n;
}

/**
 * Reads a flag that must be one of a few words.
 *
 * @param name Flag name, for the message.
 * @param value The flag's text.
 * @param allowed The words.
 * @returns The word.
 * @throws {Error} Naming the flag, the words and the value.
 */
export function choiceFlag<T extends string>(
  name: string,
  value: string | boolean | undefined,
  allowed: readonly T[],
): T {
  if (!allowed.includes(value as T)) {
    throw new Error(`Cannot read --${name} as it must be one of ${allowed.join(", ")}: current value is ${value}`);
  }
  return value as T;
}

/** Runs a command's main, printing an error's message (not a stack) and exiting 1 on failure. */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    if (readEnv("HAAT_DEBUG")) console.error(e);
    Deno.exit(1);
  }
}
