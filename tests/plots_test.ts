import { assert, assertEquals } from "./_assert.ts";
import { plots } from "../mod.ts";

Deno.test("plots: figures are self-contained SVG with their title, and show inline in Jupyter", () => {
  const figure = plots.accuracyCurves(
    [{ name: "PGD", epochs: [{ epoch: 1, valClean: 0.2, valPgd: 0.1 }, { epoch: 2, valClean: 0.3, valPgd: 0.15 }] }],
    "Accuracy & <epochs>",
  );
  assert(figure.svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert(figure.svg.includes("Accuracy &amp; &lt;epochs>"), "the title is in the SVG, escaped");
  assert(figure.svg.includes("<path"), "the lines are drawn");
  assert(figure.svg.includes("PGD clean") && figure.svg.includes("PGD PGD"), "series are labelled");
  const display = figure[Symbol.for("Jupyter.display")]();
  assertEquals(Object.keys(display), ["image/svg+xml"]);
  assertEquals(display["image/svg+xml"], figure.svg);
});

Deno.test("plots: every figure function renders from plain data", () => {
  const figures = [
    plots.xiKGrid([{ xi: 1e-6, k: 1, value: 0.3 }, { xi: 1e-3, k: 5, value: 0.2 }], "grid", "acc"),
    plots.powerStepDifferences([{ k: 5, diffs: [1.4, 0.5, 0.1] }], "fig5"),
    plots.fdErrorAgainstXi(
      [{ xi: 1e-6, method: "forward", error: 100 }, { xi: 1e-2, method: "forward", error: 0.1 }],
      1e-7,
      "fd",
    ),
    plots.convergenceAgainstRate([{ k: 1, value: 0.5 }, { k: 2, value: 0.4 }], 0.8, "rate", "sin"),
    plots.eigenvalueBars([{ example: "a", index: 1, value: 2 }, { example: "a", index: 2, value: 1 }], "eig"),
    plots.accuracyBars([{ model: "m", metric: "clean", accuracy: 0.5 }], "bars"),
    plots.accuracyAgainstEps(
      [{ eps: 0, accuracy: 0.5, series: "PGD" }, { eps: 8 / 255, accuracy: 0.2, series: "PGD" }],
      "eps",
    ),
    plots.lines([{ x: 1, y: 2, series: "s" }, { x: 2, y: 3, series: "s" }], { title: "lines", x: "x", y: "y" }),
  ];
  for (const f of figures) assert(f.svg.includes("<svg") && f.svg.length > 500, f.svg.slice(0, 100));
});

Deno.test("plots.show() does nothing outside a Jupyter kernel", async () => {
  await plots.show(plots.lines([{ x: 1, y: 1, series: "s" }], { title: "t", x: "x", y: "y" }));
});
