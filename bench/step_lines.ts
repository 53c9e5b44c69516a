/**
 * Reading `bench/step.ts`'s results files (one JSON line per timed step): the mean seconds of a step, and
 * a step's seconds over the PGD-10 step's at the same width, as the README and notebook 3 cite them.
 *
 * @module
 */

/** The fields of a `bench/step.ts` line these functions read. */
export interface StepLine {
  objective: string;
  width: number;
  /** The backend's one-line report, e.g. "wasm + oneDNN 2.6.3 (avx2, 2 threads)". */
  backendDetail: string;
  secondsPerStep: number;
  /** HAAT's options, on HAAT lines. */
  haat?: { warmStart: boolean; warmK: number };
}

/**
 * The lines of a results file.
 *
 * @param path The JSON-lines file.
 * @returns Its lines, parsed.
 */
export async function readStepLines(path: string | URL): Promise<StepLine[]> {
  return (await Deno.readTextFile(path)).trim().split("\n").map((l) => JSON.parse(l));
}

/**
 * The mean seconds per step of the lines at `width` that `keep` selects.
 *
 * @example
 * ```ts
 * import { meanStepSeconds } from "./step_lines.ts";
 * const lines = [1, 3].map((s) => ({ objective: "pgd", width: 16, backendDetail: "", secondsPerStep: s }));
 * if (meanStepSeconds(lines, 16, (l) => l.objective === "pgd") !== 2) throw new Error();
 * ```
 * @returns The mean, or null where no line is selected.
 */
export function meanStepSeconds(lines: StepLine[], width: number, keep: (line: StepLine) => boolean): number | null {
  const seconds = lines.filter((l) => l.width === width && keep(l)).map((l) => l.secondsPerStep);
  return seconds.length ? seconds.reduce((a, b) => a + b, 0) / seconds.length : null;
}

/**
 * The mean step of the lines `keep` selects over the mean PGD-10 step, both at `width`.
 *
 * @example
 * ```ts
 * import { stepSecondsOverPgd } from "./step_lines.ts";
 * const line = (objective: string, s: number) => ({ objective, width: 16, backendDetail: "", secondsPerStep: s });
 * const lines = [line("pgd", 2), line("pgd", 4), line("haat", 7.5)];
 * if (stepSecondsOverPgd(lines, 16, (l) => l.objective === "haat") !== 2.5) throw new Error();
 * ```
 * @returns The ratio, or null where either has no line.
 */
export function stepSecondsOverPgd(lines: StepLine[], width: number, keep: (line: StepLine) => boolean): number | null {
  const step = meanStepSeconds(lines, width, keep), pgd = meanStepSeconds(lines, width, (l) => l.objective === "pgd");
  return step === null || pgd === null ? null : step / pgd;
}
