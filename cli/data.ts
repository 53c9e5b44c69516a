/**
 * `deno task data`: downloads and checks the official CIFAR-10 binary archive into ./data/cifar10
 * (for machines with internet access; the project never commits the data).
 *
 * @module
 */
import { CIFAR10_URL, downloadCifar10 } from "../lib/data/download.ts";
import { parseFlags, runMain } from "./_flags.ts";

const flags = parseFlags("Usage: deno task data [--out data/cifar10]   (download + check official CIFAR-10)", {
  out: { type: "string", default: "data/cifar10", help: "destination directory" },
  url: { type: "string", default: CIFAR10_URL, help: "archive address (a mirror of the official archive)" },
});

await runMain(async () => {
  await downloadCifar10(flags.out as string, flags.url as string);
  console.log(`CIFAR-10 written to ${flags.out}; use it with HAAT_DATA=${flags.out} or --data ${flags.out}`);
});
