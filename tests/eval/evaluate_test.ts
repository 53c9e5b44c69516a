import { assert, assertEquals } from "../_assert.ts";
import { evaluate, loadCifar10, reportTable, resnet18 } from "../../mod.ts";
import { HAS_SHARED_DATA, setup, SHARED_DATA } from "../_helpers.ts";

await setup();

Deno.test({
  name: "evaluate() adds per-class accuracy, an eps sweep and AutoAttack that agree with its totals",
  ignore: !HAS_SHARED_DATA,
  fn: async () => {
    const model = resnet18({ width: 4, seed: 3 });
    model.eval();
    const test = await loadCifar10(SHARED_DATA, "test", { limit: 24 });
    const report = evaluate(model.logits, test, {
      pgdSteps: 3,
      autoattack: { version: "standard", n: 24, budgets: { apgdIter: 10, fabIter: 5, squareQueries: 50 } },
      sweep: { eps: [0, 4 / 255, 8 / 255], n: 24 },
    });
    assertEquals(report.perClass.reduce((s, c) => s + c.n, 0), 24);
    const cleanFromClasses = report.perClass.reduce((s, c) => s + c.clean * c.n, 0) / 24;
    assert(Math.abs(cleanFromClasses - report.clean) < 1e-9);
    assert(report.perClass.every((c) => c.pgd <= c.clean));
    assertEquals(report.sweep!.rows[0], { eps: 0, pgd: report.clean, apgdCe: report.clean });
    assert(report.sweep!.rows.every((r) => r.pgd <= report.clean && r.apgdCe <= report.clean));
    assertEquals(report.autoattack!.clean, report.clean);
    assert(report.autoattack!.robust <= report.clean);
    const table = reportTable(report);
    assert(table.includes("AutoAttack standard (n = 24, shortened budgets"));
    assert(table.includes("| 8/255 |") && table.includes("| airplane |"));
    model.dispose();
  },
});
