/**
 * `deno task bench`: runs each benchmark of bench/step.ts in its own process and prints its JSON line
 * (or a JSON line with the error, e.g. a wasm heap that ran out), then the measured HAAT-10 / PGD-10
 * ratio. Results and the machine they came from are written up in bench/README.md.
 *
 * First the convolution kernels alone (bench/kernels.ts). Then, on every backend that starts here: at width 64 and batch 128, one training step of each
 * objective in `--objectives` (standard = forward+backward+SGD; pgd = PGD-10 adversarial training;
 * haat = HAAT-10 with k = 5; ...); at width 16 and batch 128, the same. The cpu backend is measured at
 * width 16 and batch 32 only (a width-64 step of 128 images takes hours on it). `--quick`: width 16,
 * batch 32 only. Each benchmark process is stopped after `--timeout` seconds and reported as such.
 *
 * @module
 */
import { OBJECTIVES, useBackend } from "../mod.ts";
import { numberFlag, parseFlags, runMain } from "../cli/_flags.ts";

const flags = parseFlags("Usage: deno task bench [--quick] [--backends wasm,cpu] [--objectives standard,pgd]", {
  quick: { type: "boolean", default: false, help: "width 16, batch 32 only (a few minutes in all)" },
  backends: { type: "string", default: "tensorflow,wasm,cpu", help: "backends to try, comma-separated" },
  objectives: { type: "string", default: OBJECTIVES.join(","), help: "objectives whose training step is timed" },
  widths: { type: "string", default: "64,16", help: "ResNet18 widths (batch 128)" },
  repeats: { type: "string", default: "1", help: "timed steps after one warm-up" },
  timeout: { type: "string", default: "1800", help: "seconds before a benchmark process is stopped" },
  "no-kernels": { type: "boolean", default: false, help: "skip the convolution kernel timings (bench/kernels.ts)" },
});

await runMain(async () => {
  const lines: Record<string, unknown>[] = [];
  if (!flags["no-kernels"]) {
    const args = ["run", "-A", new URL("./kernels.ts", import.meta.url).pathname];
    const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "inherit" }).output();
    for (const line of new TextDecoder().decode(out.stdout).trim().split("\n")) if (line) console.log(line);
  }
  for (const backend of (flags.backends as string).split(",")) {
    try {
      await useBackend(backend as "wasm");
    } catch (e) {
      console.log(JSON.stringify({ bench: "backend", backend, available: false, reason: (e as Error).message }));
      continue;
    }
    const small = flags.quick || backend === "cpu";
    const shapes = small
      ? [{ width: 16, batch: 32 }]
      : (flags.widths as string).split(",").map((w) => ({ width: Number(w), batch: 128 }));
    const objectives = backend === "cpu" ? ["standard", "pgd"] : (flags.objectives as string).split(",");
    for (const { width, batch } of shapes) {
      // A width-64 step of 128 images outgrows the wasm heap (2 GiB usable): work in chunks of 64.
      const micro = backend === "wasm" && width >= 64 && batch > 64 ? 64 : 0;
      for (const objective of objectives) {
        const args = ["run", "-A", new URL("./step.ts", import.meta.url).pathname, "--backend", backend];
        args.push("--objective", objective, "--width", `${width}`, "--batch", `${batch}`, "--micro", `${micro}`);
        args.push("--repeats", flags.repeats as string);
        const signal = AbortSignal.timeout(numberFlag("timeout", flags.timeout) * 1000);
        const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped", signal })
          .output();
        const line = new TextDecoder().decode(out.stdout).trim().split("\n").filter((l) => l.startsWith("{")).pop();
        if (out.success && line) {
          console.log(line);
          lines.push(JSON.parse(line));
        } else {
          const err = new TextDecoder().decode(out.stderr).trim().split("\n").filter((l) => l.trim()).slice(-1)[0];
          const error = signal.aborted ? `stopped after ${flags.timeout} s` : err ?? `exit ${out.code}`;
          console.log(JSON.stringify({ bench: objective, backend, width, batch, error }));
        }
      }
      const find = (o: string) =>
        lines.find((l) => l.objective === o && l.backend === backend && l.width === width && l.batch === batch);
      const [pgd, haat] = [find("pgd"), find("haat")];
      if (pgd && haat) {
        console.log(JSON.stringify({
          bench: "haat10-k5-vs-pgd10",
          backend,
          width,
          batch,
          speedRatio: Number(((haat.imagesPerSecond as number) / (pgd.imagesPerSecond as number)).toFixed(3)),
          gradientRatioIdeal: Number(((10 * 6 + 1) / (10 + 1)).toFixed(3)),
          note: "speedRatio = HAAT images/s / PGD images/s; ideal about 1 / gradientRatioIdeal",
        }));
      }
    }
  }
});
