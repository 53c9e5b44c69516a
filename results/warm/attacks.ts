/**
 * Two HAAT attacks on one model, paired image by image (issue 27, item 2): the robust accuracy each leaves
 * and McNemar's exact test on the images where they disagree (`mcnemar`). `deno task compare` pairs two
 * models under one attack, and refuses reports whose HAAT options differ; this pairs two attacks on one
 * model, so it checks the other way round: the same model, the same test images (SHA-256 and count), the
 * same clean and PGD outcomes (the part both evaluations share), and HAAT options that differ only in the
 * power-iteration start (`warmStart`, `warmK`).
 *
 *   deno run -A results/warm/attacks.ts results/warm/haat20-w16-cold results/warm/haat20-w16-warm
 *
 * Prints one Markdown line, then one JSON line. The first report's attack is the first in McNemar's terms:
 * `difference` is first minus second (positive: the second attack leaves fewer images robust, so it is the
 * stronger).
 *
 * @module
 */
import { mcnemar, type McNemarResult, outcomesFromString } from "../../lib/eval/paired.ts";
import { haatDifferences, type HaatOptions } from "../../lib/attacks/haat_options.ts";

/** What this reads of a report.json. */
interface Report {
  model: string;
  n: number;
  data?: { file: string; records: number; sha256: string }[];
  haat?: { accuracy: number } & HaatOptions;
  perImage?: { clean: string; pgd: string; haat?: string };
}

/** The pairing of two attacks' reports on one model. */
export interface AttackPair {
  model: string;
  n: number;
  first: { dir: string; accuracy: number; warmStart: boolean; warmK: number };
  second: { dir: string; accuracy: number; warmStart: boolean; warmK: number };
  mcnemar: McNemarResult;
}

/**
 * Pairs the HAAT outcomes of two reports of one model, after checking that they can be paired.
 *
 * @param dirs The two directories holding report.json.
 * @returns The pairing.
 * @throws {Error} Naming what differs: the model, the images, clean or PGD outcomes, or HAAT options other
 *   than warmStart and warmK; or a report without HAAT outcomes.
 */
export async function pairAttacks(dirs: [string, string]): Promise<AttackPair> {
  const [a, b] = await Promise.all(dirs.map(async (d) => JSON.parse(await Deno.readTextFile(`${d}/report.json`))));
  const fail = (why: string): never => {
    throw new Error(`Cannot pair the attacks of ${dirs[0]} and ${dirs[1]} as ${why}`);
  };
  const reports = [a, b] as Report[];
  for (const [i, r] of reports.entries()) {
    if (!r.haat || !r.perImage?.haat) fail(`${dirs[i]}/report.json has no HAAT outcomes`);
  }
  if (a.model !== b.model) fail(`they evaluated different models: ${a.model} and ${b.model}`);
  if (a.n !== b.n || JSON.stringify(a.data) !== JSON.stringify(b.data)) fail("they scored different test images");
  if (a.perImage.clean !== b.perImage.clean || a.perImage.pgd !== b.perImage.pgd) {
    fail("their clean or PGD outcomes differ: not the same model and images, or not the same PGD");
  }
  // Every HAAT option but the start's must agree.
  const rest = (h: Report["haat"]) => {
    const { accuracy: _a, warmStart: _w, warmK: _k, ...others } = h!;
    return others;
  };
  const other = haatDifferences(rest(a.haat), rest(b.haat));
  if (other.length > 0) fail(`their HAAT options differ beyond the start: ${other.join("; ")}`);
  const side = (dir: string, r: Report) => ({
    dir,
    accuracy: r.haat!.accuracy,
    warmStart: r.haat!.warmStart ?? false,
    warmK: r.haat!.warmK ?? 1,
  });
  return {
    model: a.model,
    n: a.n,
    first: side(dirs[0], a),
    second: side(dirs[1], b),
    mcnemar: mcnemar(outcomesFromString(a.perImage.haat), outcomesFromString(b.perImage.haat)),
  };
}

/** "cold" or "warm, warmK n". */
function startName(side: AttackPair["first"]): string {
  return side.warmStart ? `warm (warmK ${side.warmK})` : "cold";
}

/**
 * One Markdown table row: model, images, each attack's robust accuracy, the images only one attack broke,
 * the difference and McNemar's p.
 *
 * @param p A pairing.
 * @returns The row.
 */
export function attackRow(p: AttackPair): string {
  const pts = (v: number) => (100 * v).toFixed(2);
  const m = p.mcnemar;
  return `| ${p.model} | ${p.n} | ${startName(p.first)} ${pts(p.first.accuracy)}% | ` +
    `${startName(p.second)} ${pts(p.second.accuracy)}% | ${m.onlyFirst} / ${m.onlySecond} | ` +
    `${m.difference >= 0 ? "+" : ""}${pts(m.difference)} | ${m.pValue.toFixed(3)} |`;
}

if (import.meta.main) {
  if (Deno.args.length !== 2) {
    console.error("usage: deno run -A results/warm/attacks.ts <report dir> <report dir>");
    Deno.exit(2);
  }
  const pair = await pairAttacks(Deno.args as [string, string]);
  console.log(attackRow(pair));
  console.log(JSON.stringify(pair));
}
