/**
 * The Markdown table of an evaluation report (SPEC section 5).
 *
 * @module
 */
import type { EvaluationReport } from "./options.ts";

/**
 * A Markdown table of a report: clean, PGD, HAAT and AutoAttack accuracy, the eps sweep and the
 * per-class accuracy, each section only when the report has it.
 *
 * @param report From `evaluate`.
 * @returns Markdown text.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { reportTable } from "./report.ts";
 * const table = reportTable({
 *   n: 10, eps: 8 / 255, pgdSteps: 20, clean: 0.9, pgd: 0.4, perClass: [], seconds: 1, backend: "cpu",
 * });
 * assert.ok(table.includes("| PGD-20, Linf eps = 8/255 | 40.00% |"));
 * ```
 */
export function reportTable(report: EvaluationReport): string {
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  const e255 = (e: number) => `${(e * 255).toFixed(0)}/255`;
  const lines = [
    "| metric | accuracy |",
    "| --- | --- |",
    `| clean (n = ${report.n}) | ${pct(report.clean)} |`,
    `| PGD-${report.pgdSteps}, Linf eps = ${e255(report.eps)} | ${pct(report.pgd)} |`,
  ];
  if (report.haat) {
    // Every HAAT option the report holds (those written before 2026-12-06 hold steps, k and xi only).
    const h = report.haat;
    const settings = [
      `k = ${h.k}`,
      `xi = ${h.xi}`,
      ...(h.w1 !== undefined ? [`w1 = ${h.w1}`, `w2 = ${h.w2}`] : []),
      ...(h.hvp !== undefined ? [h.hvp === "exact" ? "exact HVP" : `${h.difference} differences`] : []),
      ...(h.secondOrderScale !== undefined ? [`${h.secondOrderScale} scale`] : []),
      ...(h.seed !== undefined ? [`seed ${h.seed}`] : []),
    ];
    lines.push(`| HAAT-${h.steps} (${settings.join(", ")}), Linf eps = ${e255(report.eps)} | ${pct(h.accuracy)} |`);
  }
  if (report.autoattack) {
    const a = report.autoattack;
    const shortened = a.budgets ? `, shortened budgets ${JSON.stringify(a.budgets)}` : "";
    lines.push(
      `| AutoAttack ${a.version} (n = ${a.n}${shortened}), Linf eps = ${e255(report.eps)} | ${pct(a.robust)} |`,
    );
    for (const p of a.perAttack) {
      lines.push(`| &nbsp;&nbsp;after ${p.attack} (${p.seconds.toFixed(0)} s) | ${pct(p.robustAccuracy)} |`);
    }
  }
  if (report.sweep) {
    lines.push(
      "",
      `Robust accuracy against eps (n = ${report.sweep.n}):`,
      "",
      "| eps | PGD | APGD-CE |",
      "| --- | --- | --- |",
    );
    for (const r of report.sweep.rows) lines.push(`| ${e255(r.eps)} | ${pct(r.pgd)} | ${pct(r.apgdCe)} |`);
  }
  if (report.perClass.some((c) => c.n > 0)) {
    lines.push("", "Per class:", "", "| class | n | clean | PGD |", "| --- | --- | --- | --- |");
    for (const c of report.perClass) lines.push(`| ${c.name} | ${c.n} | ${pct(c.clean)} | ${pct(c.pgd)} |`);
  }
  return lines.join("\n");
}
