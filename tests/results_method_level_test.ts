/**
 * `results/method_level.ts`: results/README.md's method-level table is its output, and every number the
 * prose around it cites is one of the table's.
 */
import { assert, assertEquals } from "./_assert.ts";
import { methodRows, methodTable } from "../results/method_level.ts";

Deno.test("results/README.md's method-level table and its prose are results/method_level.ts's output", async () => {
  const readme = await Deno.readTextFile(new URL("../results/README.md", import.meta.url));
  const m = readme.match(
    /<!-- deno run -A results\/method_level\.ts -->\n([\s\S]*?)\n<!-- end of results\/method_level\.ts -->\n([\s\S]*?)\nEvaluation times/,
  );
  assert(m, "results/README.md has no method-level table between its markers");
  const rows = await methodRows();
  const cells = (t: string) => t.trim().split("\n").map((l) => l.split("|").slice(1, -1).map((c) => c.trim()));
  assertEquals(cells(m[1]), cells(methodTable(rows)).map((r) => r.map((c) => c.replace(/^-+$/, "---"))));
  const text = m[2].replace(/\s+/g, " ");
  const pts = (v: number) => (100 * v).toFixed(2);
  const range = (vs: number[], f: (v: number) => string) => `${f(Math.min(...vs))}-${f(Math.max(...vs))}`;
  const row = (arm: string, metric: string) => rows.find((r) => r.arm.includes(arm) && r.metric === metric)!;
  const fd = row("1e-5", "pgd"), paper = row("1e-6", "pgd");
  const claims = [
    `degrees of freedom are small (${range(rows.map((r) => r.df), (v) => v.toFixed(1))})`,
    `80% power is ${range(rows.map((r) => r.detectable), pts)} points`,
    `differences are at most ${pts(Math.max(...rows.map((r) => Math.abs(r.difference))))}`,
    `gives p = ${fd.naive.pValue.toFixed(3)} for xi = 1e-5 under PGD-20`,
    `+${pts(fd.naive.differences[0])} and +${pts(fd.naive.differences[1])} points, lie ${
      pts(Math.abs(fd.naive.differences[0] - fd.naive.differences[1]))
    } points apart`,
    `gives p = ${fd.pValue.toFixed(3)}.`,
    `(${pts(fd.interval95[0])} to ${pts(fd.interval95[1])} points)`,
    `the paper's xi (${pts(paper.interval95[0])} to ${pts(paper.interval95[1])})`,
  ];
  for (const claim of claims) assert(text.includes(claim), `the prose does not say: ${claim}`);
  // Which comparisons are equivalent within a point, as the prose lists them.
  const equivalent = rows.filter((r) => r.equivalent).map((r) =>
    `${r.arm.includes("1e-5") ? "fd" : "paper"} ${r.metric}`
  );
  assertEquals(equivalent, ["paper clean", "fd pgd", "fd haat"]);
  assert(text.includes("holds for clean accuracy with the paper's xi and for PGD-20 and HAAT-20 with xi = 1e-5"));
  assert(rows.every((r) => r.interval95[0] < 0 && r.interval95[1] > 0), "the prose says no interval excludes 0");
  // The per-seed image standard error the prose cites (about 0.2 points) is larger than the naive test's gap.
  assert(fd.naive.differences[0] - fd.naive.differences[1] < 0.001);
});

Deno.test("results/method_level.ts refuses, naming them, runs that have no report.json yet", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/a-s0`);
    await Deno.writeTextFile(`${root}/a-s0/report.json`, JSON.stringify({ perImage: { clean: "10" } }));
    let message = "";
    await methodRows(root, [{ name: "A", runs: ["a-s0"] }, { name: "B", runs: ["b-s0", "b-s1"] }], ["clean"])
      .catch((e) => message = e.message);
    assert(message.includes("2 run(s) have no report.json yet: b-s0, b-s1"), message);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
