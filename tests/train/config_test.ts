import { assert, assertEquals, assertThrows } from "../_assert.ts";
import {
  configDifferences,
  configJson,
  defaultTrainConfig,
  notRunConfig,
  parseConfig,
  resolveConfig,
  type TrainConfig,
} from "../../lib/train/config.ts";

Deno.test("resolveConfig() refuses every bad field by name and value", async (t) => {
  const cases: [string, Partial<TrainConfig>, RegExp][] = [
    [
      "objective",
      { objective: "magic" as "pgd" },
      /objective must be one of standard, pgd, haat, trades, fgsm-rs: current value is magic/,
    ],
    ["dataDir", { dataDir: "" }, /dataDir must be a directory: current value is ""/],
    ["trainSize fraction", { trainSize: 100.5 }, /trainSize must be an integer >= 2: current value is 100\.5/],
    ["valSize 0", { valSize: 0 }, /valSize must be an integer >= 1: current value is 0/],
    ["valSize >= trainSize", { trainSize: 100, valSize: 100 }, /valSize must be below trainSize \(100\)/],
    ["epochs", { epochs: 0 }, /epochs must be an integer >= 1: current value is 0/],
    ["batchSize", { batchSize: 1.5 }, /batchSize must be an integer >= 1: current value is 1\.5/],
    ["lr", { lr: Infinity }, /lr must be > 0 and finite: current value is Infinity/],
    [
      "schedule",
      { schedule: "cosine" as "onecycle" },
      /schedule must be one of onecycle, piecewise: current value is cosine/,
    ],
    ["momentum", { momentum: 1 }, /momentum must be in \[0, 1\): current value is 1/],
    ["weightDecay", { weightDecay: -1 }, /weightDecay must be >= 0 and finite: current value is -1/],
    ["width", { width: 0 }, /width must be an integer >= 1: current value is 0/],
    ["seed", { seed: -1 }, /seed must be an integer in \[0, 2\^31\): current value is -1/],
    ["eps", { eps: 2 }, /eps must be in \(0, 1\]: current value is 2/],
    ["alpha", { alpha: 0 }, /alpha must be in \(0, 1\]: current value is 0/],
    ["attackSteps", { attackSteps: 0 }, /attackSteps must be an integer >= 1: current value is 0/],
    [
      "haat.k",
      { haat: { k: 0 } as TrainConfig["haat"] },
      /Cannot run HAAT as k must be an integer >= 1: current value is 0/,
    ],
    ["haat.xi", { haat: { xi: 0 } as TrainConfig["haat"] }, /Cannot run HAAT as xi must be > 0: current value is 0/],
    [
      "haat.w1",
      { haat: { w1: NaN } as TrainConfig["haat"] },
      /Cannot run HAAT as w1 must be a number >= 0: current value is NaN/,
    ],
    [
      "haat.w2",
      { haat: { w2: -0.5 } as TrainConfig["haat"] },
      /Cannot run HAAT as w2 must be a number >= 0: current value is -0\.5/,
    ],
    [
      "haat.difference",
      { haat: { difference: "backward" } as unknown as TrainConfig["haat"] },
      /Cannot run HAAT as difference must be forward or central: current value is backward/,
    ],
    [
      "haat.hvp",
      { haat: { hvp: "fdd" } as unknown as TrainConfig["haat"] },
      /Cannot run HAAT as hvp must be fd or exact: current value is fdd/,
    ],
    [
      "haat.secondOrderScale",
      { haat: { secondOrderScale: "cubes" } as unknown as TrainConfig["haat"] },
      /Cannot run HAAT as secondOrderScale must be cube, sqrtd or l2ball: current value is cubes/,
    ],
    ["tradesBeta", { tradesBeta: -1 }, /tradesBeta must be >= 0 and finite: current value is -1/],
    ["valPgdSteps", { valPgdSteps: 0 }, /valPgdSteps must be an integer >= 1: current value is 0/],
    ["augment", { augment: "yes" as unknown as boolean }, /augment must be true or false: current value is yes/],
    ["microBatch", { microBatch: -1 }, /microBatch must be an integer >= 0: current value is -1/],
    ["checkpointEvery", { checkpointEvery: 0.5 }, /checkpointEvery must be an integer >= 0: current value is 0\.5/],
    ["checkpointSteps", { checkpointSteps: -1 }, /checkpointSteps must be an integer >= 0: current value is -1/],
    ["logEvery", { logEvery: -2 }, /logEvery must be an integer >= 0: current value is -2/],
    ["metricsEvery", { metricsEvery: NaN }, /metricsEvery must be an integer >= 0: current value is NaN/],
    ["an unknown field", { widht: 8 } as Partial<TrainConfig>, /has fields that TrainConfig does not: widht/],
    ["an unknown HAAT field", { haat: { kk: 2 } } as unknown as Partial<TrainConfig>, /does not: haat\.kk/],
  ];
  for (const [name, overrides, pattern] of cases) {
    await t.step(name, () => assertThrows(() => resolveConfig(overrides), pattern));
  }
  await t.step("the defaults pass, and HAAT options merge field by field", () => {
    const config = resolveConfig({ haat: { k: 2 } as TrainConfig["haat"] });
    assertEquals([config.haat.k, config.haat.xi, config.haat.hvp], [2, 1e-6, "fd"]);
  });
});

Deno.test("configJson() leaves out where the data and the run are, and keeps the data checksums", () => {
  const config = {
    ...defaultTrainConfig(),
    dataDir: "/somewhere/cifar10",
    runDir: "/tmp/run",
    trainSize: 100,
    valSize: 50,
  };
  const data = [{ file: "data_batch_1.bin", records: 100, sha256: "ab".repeat(32) }];
  const text = configJson(config, data);
  assert(!text.includes("/somewhere") && !text.includes("/tmp/run"), text);
  const saved = parseConfig(text);
  assertEquals(saved.data, data);
  assertEquals(configDifferences(config, saved.config), []);
  assertEquals(parseConfig(configJson(defaultTrainConfig(), undefined)).config.trainSize, Infinity);
});

Deno.test("parseConfig() reads configs written before checksums (dropping dataDir, runDir), and refuses unknown or broken ones", () => {
  const legacy = JSON.stringify({ ...defaultTrainConfig(), dataDir: "/work/shared/data/cifar10", runDir: "results/x" });
  const saved = parseConfig(legacy, "results/x/config.json");
  assertEquals(saved.data, undefined);
  assert(!("runDir" in saved.config) && !("dataDir" in saved.config));
  assertEquals(configDifferences({ ...defaultTrainConfig(), runDir: "/moved/elsewhere/" }, saved.config), []);
  assertThrows(() => parseConfig("{ not json", "r/config.json"), /Cannot read r\/config\.json as it is not JSON/);
  assertThrows(() => parseConfig("[1]", "r/config.json"), /is not a JSON object/);
  assertThrows(() => parseConfig('{"widht": 8, "haat": {"q": 1}}', "r/config.json"), /unknown fields: widht, haat\.q/);
});

Deno.test("parseConfig() refuses a field of the wrong JSON type or out of range, naming the file, the field and the value", () => {
  const good = JSON.parse(configJson(defaultTrainConfig(), [{ file: "f.bin", records: 3, sha256: "0".repeat(64) }]));
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ width: "2" }, /Cannot read r\/config\.json as width must be a number: current value is the string "2"/],
    [{ width: 0 }, /Cannot read r\/config\.json as width must be an integer >= 1: current value is 0/],
    [{ epochs: 2.5 }, /as epochs must be an integer >= 1: current value is 2\.5/],
    [{ augment: "yes" }, /as augment must be a boolean: current value is the string "yes"/],
    [{ objective: 3 }, /as objective must be a string: current value is 3/],
    [
      { objective: "magic" },
      /as objective must be one of standard, pgd, haat, trades, fgsm-rs: current value is magic/,
    ],
    [{ haat: 5 }, /as haat must be an object: current value is 5/],
    [{ haat: { ...good.haat, k: "5" } }, /as haat\.k must be a number: current value is the string "5"/],
    [{ haat: { ...good.haat, xi: -1 } }, /Cannot read r\/config\.json as haat\.xi must be > 0: current value is -1/],
    [{ valSize: 100, trainSize: 50 }, /as valSize must be below trainSize \(50\)/],
    [{ seed: null }, /as seed must be a number: current value is null/],
    [{ data: "data_batch_1.bin" }, /as data must be a list of the files read/],
    [
      { data: [{ file: "f.bin", records: -1, sha256: "0".repeat(64) }] },
      /as data entry 0 must be \{ file, records, sha256 \}/,
    ],
    [{ data: [{ file: "f.bin", records: 3, sha256: "xyz" }] }, /as data entry 0 must be/],
  ];
  for (const [change, message] of cases) {
    assertThrows(() => parseConfig(JSON.stringify({ ...good, ...change }), "r/config.json"), message);
  }
  assertEquals(parseConfig(JSON.stringify({ ...good, trainSize: null }), "r/config.json").config.trainSize, Infinity);
});

Deno.test("notRunConfig() tells a run's config.json, even a damaged one, from another tool's file", () => {
  assertEquals(notRunConfig(configJson(defaultTrainConfig(), undefined)), undefined);
  assertEquals(notRunConfig('{"objective": "pgd", "width": "2"}'), undefined);
  assertEquals(notRunConfig("{ not json"), "it is not JSON");
  assertEquals(notRunConfig('{"name": "x", "version": "1"}'), "it has fields a run's config does not: name, version");
  assertEquals(notRunConfig("{}"), "it names no objective");
});

Deno.test("configDifferences() names each differing field with both values, and ignores dataDir, runDir, logEvery and checkpointSteps", () => {
  const base = defaultTrainConfig();
  const saved = parseConfig(configJson(base, undefined)).config;
  const changed = {
    ...base,
    epochs: 5,
    width: 8,
    haat: { ...base.haat, k: 2 },
    dataDir: "x",
    runDir: "y",
    logEvery: 1,
    checkpointSteps: 7,
  };
  assertEquals(configDifferences(changed, saved), [
    "epochs (5 here, 10 in the run)",
    "width (8 here, 64 in the run)",
    "haat.k (2 here, 5 in the run)",
  ]);
  assertEquals(configDifferences({ ...base, trainSize: 500 }, saved), ["trainSize (500 here, Infinity in the run)"]);
});
