/**
 * The module graph keeps its layers: in lib/, imports point down the floors that mod.ts's top comment lists,
 * never up.
 */
import { assert, assertEquals } from "./_assert.ts";

const root = new URL("../", import.meta.url);
const lib = new URL("lib/", root);

/**
 * The floor of a file under lib/ (its path relative to lib/), lowest first, as mod.ts's top comment lists
 * them; undefined for a file no floor names, which the test refuses so that a new folder is placed on purpose.
 */
function floorOf(path: string): number | undefined {
  const floors: [number, RegExp][] = [
    [0, /^(tfjs\.ts|reading\.ts|random\.ts|env\.ts|io\/)/],
    [1, /^ops\//],
    [2, /^backend\//],
    [3, /^(models\/|data\/|losses\.ts|core\.ts)/],
    [4, /^(hessian\/|attacks\/)/],
    [5, /^(eval\/|train\/)/],
    [6, /^plots\//],
  ];
  return floors.find(([, pattern]) => pattern.test(path))?.[0];
}

/** Every .ts file under a folder, as paths relative to it. */
function tsFiles(dir: URL, prefix = ""): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.isDirectory) files.push(...tsFiles(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`));
    else if (entry.isFile && entry.name.endsWith(".ts")) files.push(`${prefix}${entry.name}`);
  }
  return files.sort();
}

/**
 * The specifiers a module's code imports: static `import`/`export ... from`, side-effect imports and dynamic
 * `import("...")` with a literal. Lines inside doc comments (` * import ...`) are examples, not imports.
 */
function importSpecifiers(source: string): string[] {
  const patterns = [
    /^(?:import|export)\s+(?:type\s+)?(?:\{[^}]*\}|\*(?:\s+as\s+\w+)?|\w+(?:\s*,\s*\{[^}]*\})?)\s+from\s+["']([^"']+)["']/gm,
    /^import\s+["']([^"']+)["']/gm,
    /^[^*\n/]*\bimport\(\s*["']([^"']+)["']\s*\)/gm,
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((m) => m[1]));
}

/** lib/'s edges between its own files: [from, to], paths relative to lib/. */
function libEdges(): [string, string][] {
  const edges: [string, string][] = [];
  for (const file of tsFiles(lib)) {
    const source = Deno.readTextFileSync(new URL(file, lib));
    for (const specifier of importSpecifiers(source)) {
      if (!specifier.startsWith(".")) continue;
      const target = new URL(specifier, new URL(file, lib)).href;
      assert(target.startsWith(lib.href), `lib/${file} imports ${specifier}, outside lib/`);
      edges.push([file, target.slice(lib.href.length)]);
    }
  }
  return edges;
}

Deno.test("importSpecifiers() reads imports and skips doc examples", () => {
  const source = [
    '/**\n * import { tf } from "../backend/backend.ts";\n */',
    'import { tf } from "../tfjs.ts";',
    'import {\n  a,\n  type B,\n} from "./a.ts";',
    'export { c } from "./c.ts";',
    'export * as d from "./d.ts";',
    'import type { E } from "./e.ts";',
    'import "./f.ts";',
    'const g = await import("./g.ts");',
  ].join("\n");
  assertEquals(importSpecifiers(source), [
    "../tfjs.ts",
    "./a.ts",
    "./c.ts",
    "./d.ts",
    "./e.ts",
    "./f.ts",
    "./g.ts",
  ]);
});

Deno.test("lib/: every file has a floor and no import points up a floor", () => {
  const files = tsFiles(lib);
  const unplaced = files.filter((file) => floorOf(file) === undefined);
  assertEquals(unplaced, [], "files under lib/ that no floor names (add them to floorOf and mod.ts's comment)");
  const edges = libEdges();
  // The walk sees the graph: known edges across floors are there.
  for (const edge of [["models/resnet18.ts", "ops/conv_bias.ts"], ["backend/onednn/kernels.ts", "ops/relu_grad.ts"]]) {
    assert(edges.some(([from, to]) => from === edge[0] && to === edge[1]), `edge ${edge.join(" -> ")} not found`);
  }
  assert(edges.length > 100, `only ${edges.length} imports found in lib/`);
  const upward = edges
    .filter(([from, to]) => floorOf(to)! > floorOf(from)!)
    .map(([from, to]) => `lib/${from} (floor ${floorOf(from)}) -> lib/${to} (floor ${floorOf(to)})`);
  assertEquals(upward, []);
});

Deno.test("lib/: only lib/backend/ and the modules that start or report a backend import it", () => {
  // tf comes from lib/tfjs.ts; the backend module (FFI, wasm kernels) is for those that choose or report it.
  const importers = [
    ...new Set(
      libEdges().filter(([from, to]) => to.startsWith("backend/") && !from.startsWith("backend/"))
        .map(([from]) => from),
    ),
  ].sort();
  for (const file of importers) {
    const source = Deno.readTextFileSync(new URL(file, lib));
    assert(
      /\b(useBackend|ensureBackend|backendInfo|backendReady)\b/.test(source),
      `lib/${file} imports lib/backend/ without choosing or reporting the backend`,
    );
  }
});

/** The npm packages a module's graph loads (its npm imports and their dependencies), and its module specifiers. */
async function moduleGraph(entry: string): Promise<{ modules: string[]; packages: string[] }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: new URL(".", root).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  const info = JSON.parse(new TextDecoder().decode(stdout)) as {
    modules: { specifier: string; kind?: string; npmPackage?: string }[];
    npmPackages: Record<string, { dependencies?: string[] }>;
  };
  // npmPackages lists the whole resolution; only the packages reachable from the graph's npm modules load.
  const seen = new Set<string>();
  const stack = info.modules.flatMap((m) => m.npmPackage === undefined ? [] : [m.npmPackage]);
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(info.npmPackages[id]?.dependencies ?? []));
  }
  return { modules: info.modules.map((m) => m.specifier), packages: [...seen].sort() };
}

/** Plotting code: Observable Plot, its DOM (linkedom), the PNG renderer (resvg) and its fonts. */
const PLOTTING = /@observablehq\/plot|linkedom|resvg|font|lib\/plots\//i;

Deno.test("cli/train.ts and cli/evaluate.ts load no plotting code (Observable Plot, linkedom, resvg, fonts)", async (t) => {
  // The walk sees plotting code where it is: plots.ts loads all four.
  const figures = await moduleGraph("plots.ts");
  for (const name of ["@observablehq/plot", "linkedom", "@resvg/resvg-wasm", "dejavu-fonts-ttf"]) {
    assert(figures.packages.some((p) => p.startsWith(`${name}@`)), `plots.ts's graph lacks ${name}`);
  }
  for (const entry of ["cli/train.ts", "cli/evaluate.ts"]) {
    await t.step(entry, async () => {
      const graph = await moduleGraph(entry);
      assert(graph.packages.some((p) => p.startsWith("@tensorflow/tfjs@")), `${entry}'s graph lacks TensorFlow.js`);
      assertEquals([...graph.modules, ...graph.packages].filter((name) => PLOTTING.test(name)), []);
    });
  }
});
