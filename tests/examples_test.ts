/**
 * The doc examples check what they show: most `@example` blocks under lib/, mod.ts and plots.ts assert their
 * values (so `deno test --doc` fails on a wrong one), and every value the public entry points export has one.
 */
import { assert, assertEquals } from "./_assert.ts";

const root = new URL("../", import.meta.url);

/** Every .ts file under a folder, as paths relative to the repository root. */
function tsFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(new URL(dir, root))) {
    if (entry.isDirectory) files.push(...tsFiles(`${dir}${entry.name}/`));
    else if (entry.isFile && entry.name.endsWith(".ts")) files.push(`${dir}${entry.name}`);
  }
  return files.sort();
}

/** The `@example` blocks of a source's doc comments, each as its text up to the next tag or the comment's end. */
function examples(source: string): string[] {
  const blocks: string[] = [];
  for (const comment of source.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const parts = comment[0].split(/^\s*\*\s*@example\b/m).slice(1);
    blocks.push(...parts.map((part) => part.split(/^\s*\*\s*@\w+/m)[0]));
  }
  return blocks;
}

/** Whether an example checks a value: an assert call, or a thrown error on a failed check. */
function asserts(example: string): boolean {
  return /\bassert\w*(\.\w+)?\s*\(|throw new Error/.test(example);
}

Deno.test("examples() and asserts() read doc comments' examples", () => {
  const source = [
    "/**\n * One.\n * @example\n * ```ts\n * assert.strictEqual(1, 1);\n * ```\n * @param x\n */",
    "/** Two.\n * @example\n * ```ts\n * console.log(2);\n * ```\n */",
    '/** Three.\n * @example\n * ```ts\n * if (3 !== 3) throw new Error("no");\n * ```\n */',
    "/** Not an example. */",
  ].join("\n");
  const found = examples(source);
  assertEquals(found.length, 3);
  assertEquals(found.map(asserts), [true, false, true]);
  assert(!found[0].includes("@param"));
});

Deno.test("doc examples under lib/, mod.ts and plots.ts: at least 90% assert their values", () => {
  const files = [...tsFiles("lib/"), "mod.ts", "plots.ts"];
  const all = files.flatMap((file) =>
    examples(Deno.readTextFileSync(new URL(file, root))).map((text) => ({ file, text }))
  );
  assert(all.length > 100, `only ${all.length} examples found`);
  const silent = all.filter((e) => !asserts(e.text));
  const share = 1 - silent.length / all.length;
  assert(
    share >= 0.9,
    `only ${(100 * share).toFixed(0)}% of ${all.length} examples assert; these do not:\n` +
      silent.map((e) => `${e.file}: ${e.text.split("\n").find((l) => /\w/.test(l) && !l.includes("```"))}`)
        .join("\n"),
  );
});

/** A symbol of `deno doc --json`: its name and declarations with their kind, place and doc tags. */
interface DocSymbol {
  name: string;
  declarations: {
    kind: string;
    location: { filename: string; byteIndex: number };
    jsDoc?: { tags?: { kind: string }[] };
  }[];
}

/**
 * Whether a declaration has an `@example`: in its doc as `deno doc` reads it or, for a namespace re-export
 * (`export * as tf from ...`, whose comment `deno doc` does not keep), in the doc comment right before it.
 */
function hasExample(declaration: DocSymbol["declarations"][number]): boolean {
  if (declaration.jsDoc?.tags?.some((tag) => tag.kind === "example")) return true;
  if (declaration.kind !== "namespace" || !declaration.location.filename.startsWith("file:")) return false;
  const bytes = Deno.readFileSync(new URL(declaration.location.filename));
  const before = new TextDecoder().decode(bytes.subarray(0, declaration.location.byteIndex));
  const comment = before.match(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*(export\s*)?$/);
  return comment !== null && /^\s*\*\s*@example\b/m.test(comment[1]);
}

Deno.test("every value mod.ts and plots.ts export has a doc comment with an @example", async (t) => {
  for (const entry of ["mod.ts", "plots.ts"]) {
    await t.step(entry, async () => {
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: ["doc", "--json", entry],
        cwd: root.pathname,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(code, 0, new TextDecoder().decode(stderr));
      const doc = JSON.parse(new TextDecoder().decode(stdout)) as {
        nodes: Record<string, { symbols?: DocSymbol[] }>;
      };
      const symbols = Object.values(doc.nodes).flatMap((node) => node.symbols ?? []);
      const values = symbols.filter((s) =>
        s.declarations.some((d) => d.kind !== "interface" && d.kind !== "typeAlias")
      );
      assert(values.length > (entry === "mod.ts" ? 40 : 15), `only ${values.length} values found in ${entry}`);
      const missing = values.filter((s) => !s.declarations.some(hasExample)).map((s) => s.name);
      assertEquals(missing, [], `values ${entry} exports without an @example`);
    });
  }
});
