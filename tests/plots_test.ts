import { assert, assertEquals, assertRejects, assertThrows } from "./_assert.ts";
import * as plots from "../plots.ts";

/** Dark pixels (all of R, G, B below 100) in an RGBA image. */
function darkPixels(pixels: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < pixels.length; i += 4) if (pixels[i] < 100 && pixels[i + 1] < 100 && pixels[i + 2] < 100) n++;
  return n;
}

const textSvg = (text: string, family = "system-ui, sans-serif") =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40" font-family="${family}">` +
  `<text x="5" y="28" font-size="20" fill="black">${text}</text></svg>`;

Deno.test("plots.render() makes a self-contained SVG with its title, and a Jupyter hook with SVG and PNG", async () => {
  const figure = plots.accuracyCurves(
    [{ name: "PGD", epochs: [{ epoch: 1, valClean: 0.2, valPgd: 0.1 }, { epoch: 2, valClean: 0.3, valPgd: 0.15 }] }],
    "Accuracy & <epochs>",
  );
  assert(figure.svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert(figure.svg.includes("Accuracy &amp; &lt;epochs>"), "the title is in the SVG, escaped");
  assert(figure.svg.includes("<path"), "the lines are drawn");
  assert(figure.svg.includes(">PGD<") && figure.svg.includes(">clean<"), "the legend names the run and the metrics");
  const display = await figure[Symbol.for("Jupyter.display")]();
  assertEquals(Object.keys(display).sort(), ["image/png", "image/svg+xml"]);
  assertEquals(display["image/svg+xml"], figure.svg);
  const png = Uint8Array.from(atob(display["image/png"]), (c) => c.charCodeAt(0));
  assertEquals([...png.slice(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  // The PNG's IHDR holds its width and height: at scale 1, the figure's own size.
  const view = new DataView(png.buffer);
  assertEquals([view.getUint32(16), view.getUint32(20)], [figure.width, figure.height]);
});

Deno.test("plots.svgToRaster() draws text, Greek letters included, with any font family", async (t) => {
  const blank = await plots.svgToRaster(textSvg(""), { scale: 1 });
  assertEquals(darkPixels(blank.pixels), 0);
  for (
    const [name, svg] of [
      ["Latin", textSvg("Accuracy 0.1")],
      ["Greek", textSvg("ξ θ λ₂/λ₁")],
      ["an unknown font family", textSvg("Accuracy", "NoSuchFont")],
    ]
  ) {
    await t.step(name, async () => {
      const raster = await plots.svgToRaster(svg, { scale: 1 });
      assertEquals([raster.width, raster.height], [200, 40]);
      assert(darkPixels(raster.pixels) > 40, `${name}: ${darkPixels(raster.pixels)} dark pixels`);
    });
  }
  const double = await plots.svgToRaster(textSvg("x"), { scale: 2 });
  assertEquals([double.width, double.height], [400, 80]);
  await assertRejects(
    () => plots.svgToPng(textSvg("x"), { scale: 0 }),
    /scale must be in \(0, 8\]: current value is 0/,
  );
});

Deno.test("plots.beside() draws each figure in its own place, the left one's ink left of the right one's", async () => {
  const left = plots.fromSvg(textSvg("Left"), "cost");
  const right = plots.fromSvg(textSvg("Right"), "accuracy");
  const both = plots.beside([left, right], { gap: 10 });
  assertEquals([both.width, both.height, both.title], [410, 40, "cost | accuracy"]);
  const raster = await plots.svgToRaster(both.svg, { scale: 1 });
  assertEquals([raster.width, raster.height], [410, 40]);
  // Dark pixels per column: the text of each figure starts at its own x = 5.
  const columns = (from: number, to: number) => {
    let n = 0;
    for (let y = 0; y < 40; y++) {
      for (let x = from; x < to; x++) {
        const i = 4 * (y * 410 + x);
        if (raster.pixels[i] < 100 && raster.pixels[i + 1] < 100 && raster.pixels[i + 2] < 100) n++;
      }
    }
    return n;
  };
  assert(columns(0, 200) > 40 && columns(210, 410) > 40, `${columns(0, 200)} and ${columns(210, 410)} dark pixels`);
  assertEquals(columns(200, 210), 0, "nothing in the gap");
  assertThrows(() => plots.beside([]), /Cannot set figures side by side as none was given/);
});

Deno.test("plots.logTick() writes 0.1 and 1e-9, not SI prefixes", () => {
  assertEquals([0.1, 1, 100, 0.001, 1e-4, 1e-9, 2.5e-7, 1e5].map(plots.logTick), [
    "0.1",
    "1",
    "100",
    "0.001",
    "1e-4",
    "1e-9",
    "2.5e-7",
    "1e5",
  ]);
  const figure = plots.fdErrorAgainstXi(
    [{ xi: 1e-7, method: "forward", error: 100 }, { xi: 1, method: "forward", error: 0.1 }],
    0,
    "fd",
  );
  assert(!/>\d+[mµn]</.test(figure.svg), "no 100m, 1µ or 1n ticks");
  assert(figure.svg.includes(">1e-7<") && figure.svg.includes(">0.1<"), "plain tick labels");
  assert(figure.svg.includes("error 0, off the log axis"), "an exact error of 0 is said, not drawn at 1e-9");
  assert(!figure.svg.includes(">1e-9<"), "the axis does not reach down to 1e-9");
});

Deno.test("plots.lines() keeps a series' colour across figures and names every series in a legend", () => {
  const colourOf = (svg: string, series: string) => {
    const legend = svg.match(new RegExp(`stroke="(#[0-9a-f]{6})"[^>]*/><circle[^>]*/><text[^>]*>${series}<`));
    return legend?.[1];
  };
  const a = plots.lines([{ x: 1, y: 1, series: "pgd-w8" }, { x: 1, y: 2, series: "haat-w8" }], {
    title: "a",
    x: "x",
    y: "y",
  });
  const b = plots.accuracyCurves([
    { name: "pgd-w8", epochs: [{ epoch: 1, valClean: 0.2, valPgd: 0.1 }] },
    { name: "haat-w8", epochs: [{ epoch: 1, valClean: 0.3, valPgd: 0.2 }] },
  ]);
  for (const run of ["pgd-w8", "haat-w8"]) {
    assert(colourOf(a.svg, run), `${run} is in the legend`);
    assertEquals(colourOf(a.svg, run), colourOf(b.svg, run), `${run} has one colour in both figures`);
  }
  assert(colourOf(a.svg, "pgd-w8") !== colourOf(a.svg, "haat-w8"), "two runs, two colours");
});

Deno.test("plots.powerStepDifferences() gives each k its own panel", () => {
  const figure = plots.powerStepDifferences(
    [{ k: 1, diffs: [1.4] }, { k: 5, diffs: [1.4, 0.5, 0.1, 0.05, 0.01] }, { k: 10, diffs: Array(10).fill(0.5) }],
    "fig5",
  );
  for (const k of [1, 5, 10]) assert(figure.svg.includes(`>k = ${k}<`), `panel k = ${k}`);
  assert(figure.svg.includes("u_(j−1)"), "the axis names the quantity");
});

Deno.test("plots.table() formats numbers unquoted, and plots.formatNumber() rounds them", () => {
  const t = plots.table([{ "ξ": 1e-6, method: "forward", error: 133.4567 }, {
    "ξ": 0.1,
    method: "central",
    error: 0.0075931,
  }]);
  assertEquals(t.markdown.split("\n"), [
    "| ξ | method | error |",
    "| ---: | :--- | ---: |",
    "| 1e-6 | forward | 133.5 |",
    "| 0.1 | central | 7.593e-3 |",
  ]);
  assert(!t.text.includes('"'), "no quoted strings");
  assertEquals(t.text.split("\n")[2], "1e-6  forward     133.5");
  assertEquals([0.29506437768240346, 2, 1e-6, 0.0309, 1234567.8].map((v) => plots.formatNumber(v)), [
    "0.295",
    "2",
    "1e-6",
    "0.0309",
    "1.23e6",
  ]);
  assertThrows(() => plots.table([]), /there are no rows/);
});

Deno.test("plots: every figure function renders from plain data", () => {
  const figures = [
    plots.xiKGrid([{ xi: 1e-6, k: 1, value: 0.3 }, { xi: 1e-3, k: 5, value: -0.2 }], {
      title: "grid",
      label: "gain",
      diverging: true,
    }),
    plots.powerStepDifferences([{ k: 5, diffs: [1.4, 0.5, 0.1] }], "fig5"),
    plots.fdErrorAgainstXi(
      [{ xi: 1e-6, method: "forward", error: 100 }, { xi: 1e-2, method: "forward", error: 0.1 }],
      1e-7,
      "fd",
    ),
    plots.convergenceAgainstRate([{ k: 1, value: 0.5 }, { k: 2, value: 0.4 }], 0.8, 1, "rate", "sin θ_k"),
    plots.eigenvalueBars([{ example: "a", index: 1, value: 2 }, { example: "a", index: 2, value: 1 }], "eig"),
    plots.bars([{ group: "m", label: "clean", value: 50 }, { group: "m", label: "PGD", value: -5 }], {
      title: "bars",
      x: "x",
    }),
    plots.accuracyAgainstEps([
      { eps: 0, accuracy: 0.5, model: "m", attack: "PGD-20" },
      { eps: 8 / 255, accuracy: 0.2, model: "m", attack: "PGD-20" },
    ], "eps"),
    plots.lines([{ x: 1, y: 2, series: "s" }, { x: 2, y: 3, series: "s" }], { title: "lines", x: "x", y: "y" }),
  ];
  for (const f of figures) {
    assert(f.svg.startsWith("<svg") && f.svg.length > 500, f.svg.slice(0, 100));
    assert(f.width > 0 && f.height > 0, "a size");
  }
});

Deno.test("plots.show() prints tables and text outside a Jupyter kernel, and skips figures", async () => {
  const printed: unknown[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => printed.push(args.join(" "));
  try {
    await plots.show(plots.lines([{ x: 1, y: 1, series: "s" }], { title: "t", x: "x", y: "y" }));
    await plots.show("a line");
    await plots.show(plots.table([{ a: 1 }]));
  } finally {
    console.log = log;
  }
  assertEquals(printed, ["a line", "a\n-\n1"]);
});

Deno.test("plots.imageGrid() embeds one PNG per image, renders to PNG, and refuses a pixel count that does not fit", async () => {
  const img = (v: number) => ({ pixels: new Float32Array(4 * 4 * 3).fill(v), height: 4, width: 4, caption: `v ${v}` });
  const figure = await plots.imageGrid([{ label: "a", images: [img(0), img(1)] }, { label: "b", images: [img(0.5)] }], {
    title: "grid",
    columns: ["one", "two"],
  });
  assertEquals(figure.svg.match(/<image /g)?.length, 3);
  assert(figure.svg.includes(">v 0.5<") && figure.svg.includes(">two<"));
  const png = await plots.svgToPng(figure.svg);
  assertEquals([...png.subarray(1, 4)], [80, 78, 71]); // "PNG"
  await assertRejects(
    () => plots.imageGrid([{ label: "bad", images: [{ pixels: [1, 2], height: 4, width: 4 }] }], { title: "t" }),
    /must hold 4 x 4 x 3 values: current length is 2/,
  );
});

Deno.test("plots.lines() with integerX labels each integer once, and no fraction as an integer", () => {
  const rows = [1, 2, 3, 4].map((x) => ({ x, y: 10 / x, series: "a" }));
  const figure = plots.lines(rows, { title: "t", x: "step", y: "v", logY: true, integerX: true });
  // The x axis is the group whose ticks sit at the bottom: its labels are the integers 1-4, once each.
  const xAxis = figure.svg.match(/aria-label="x-axis tick label"[^>]*>([\s\S]*?)<\/g>/);
  assert(xAxis, "an x axis with tick labels");
  const labels = [...xAxis[0].matchAll(/>(-?[\d.]+)<\/text>/g)].map((m) => m[1]);
  assertEquals(labels, ["1", "2", "3", "4"]);
});
