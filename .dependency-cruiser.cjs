// The layers of src/ and which may import which (docs/architecture.md, "Layers"). Checked by
// test/unit/dependencies.test.ts in `npm test`, or alone with `npm run check:deps`.
//
// A module may import its own layer and the layers below it, never a layer above it nor another layer of its
// own rank. No import cycle may run through modules of two folders. Type-only imports count like any other:
// the only ones allowed upward are the EXCEPTIONS below.

/** Top to bottom. Layers of one rank are peers that know nothing of each other. */
const LAYERS = [
  // The composition root and the entry points: read the configuration, build and start everything.
  { name: 'entry', rank: 0, path: '^src/(wiring|server|main|config)\\.ts$|^src/cli/' },
  { name: 'api', rank: 1, path: '^src/api/' },
  // jobs sit above core: handlers call core's use cases and implement the JobQueue that core declares
  // (src/core/job-types.ts: each job type's payload and the queue interface), so core never imports jobs.
  { name: 'jobs', rank: 2, path: '^src/jobs/' },
  { name: 'core', rank: 3, path: '^src/core/' },
  { name: 'devices', rank: 4, path: '^src/devices/' },
  { name: 'android', rank: 5, path: '^src/android/' },
  { name: 'objects', rank: 5, path: '^src/objects/' },
  { name: 'store', rank: 5, path: '^src/store/' },
  // Where the package's catalogue/ folder is: this file has to sit one level below the package root (it is
  // bundled into dist/ the same way), and every layer may ask it.
  { name: 'package', rank: 6, path: '^src/catalogue-dir\\.ts$' },
];

/**
 * Imports allowed against the layers, each `import type` only (erased when compiled), with its reason.
 * `from` is a layer's name, `to` a path.
 */
const EXCEPTIONS = [
  {
    from: 'core',
    to: '^src/api/schemas/',
    reason:
      "the wire contract: core's signatures are typed from the request and response schemas (Static<typeof …>), " +
      'written once for validation, types and the OpenAPI document',
  },
  {
    from: 'devices',
    to: '^src/core/(runtime|catalogue)\\.ts$',
    reason:
      'a driver is given the injected clock and ids (Clock, Ids) and builds a phone from the catalogue entries ' +
      'core reads (PhoneModel, PhoneImage); core owns those shapes',
  },
];

/** Same-folder import cycles that are allowed, each with why it cannot be avoided (a path of the cycle each). */
const FOLDER_CYCLES = [];

const layerOf = (name) => LAYERS.find((layer) => layer.name === name);
const anyOf = (paths) => paths.map((path) => `(${path})`).join('|');

const layerRules = LAYERS.flatMap((layer) => {
  const forbiddenTargets = LAYERS.filter(
    (other) => other.rank < layer.rank || (other.rank === layer.rank && other.name !== layer.name),
  );
  if (forbiddenTargets.length === 0) return [];
  const exceptions = EXCEPTIONS.filter((exception) => exception.from === layer.name);
  const rules = [
    {
      name: `layer-${layer.name}`,
      comment: `${layer.name} imports only its own layer and the layers below it`,
      severity: 'error',
      from: { path: layer.path },
      to: {
        path: anyOf(forbiddenTargets.map((other) => other.path)),
        ...(exceptions.length ? { pathNot: anyOf(exceptions.map((exception) => exception.to)) } : {}),
      },
    },
  ];
  for (const exception of exceptions) {
    rules.push({
      name: `layer-${layer.name}-type-only`,
      comment: `${layer.name} may import only types from ${exception.to}: ${exception.reason}`,
      severity: 'error',
      from: { path: layer.path },
      to: { path: exception.to, dependencyTypesNot: ['type-only'] },
    });
  }
  return rules;
});

for (const exception of EXCEPTIONS) {
  if (!layerOf(exception.from)) throw new Error(`.dependency-cruiser.cjs: no layer named ${exception.from}`);
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-layer',
      comment: 'every module of src/ belongs to a layer (add new top-level files or folders to LAYERS)',
      severity: 'error',
      from: { path: '^src/', pathNot: anyOf(LAYERS.map((layer) => layer.path)) },
      to: {},
    },
    {
      // $1 is the folder of the importing module: a cycle is refused when some module of it is elsewhere.
      name: 'no-cycle-across-folders',
      comment: 'an import cycle runs through modules of two folders',
      severity: 'error',
      from: { path: '^(src.*)/[^/]+$' },
      to: { circular: true, via: { pathNot: '^$1/[^/]+$' } },
    },
    {
      name: 'no-cycle-in-folder',
      comment: 'an import cycle inside one folder (allowed only when listed in FOLDER_CYCLES with its reason)',
      severity: 'error',
      from: { path: '^(src.*)/[^/]+$', ...(FOLDER_CYCLES.length ? { pathNot: anyOf(FOLDER_CYCLES.map((c) => c.path)) } : {}) },
      to: { circular: true, viaOnly: { path: '^$1/[^/]+$' } },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
  },
};
