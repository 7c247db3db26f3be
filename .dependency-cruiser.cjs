// Layering: a folder under src/ is a layer; a layer imports only layers listed before it
// (CONVENTIONS.md "Layout"). Cycles are forbidden everywhere.
const layers = [
  'core',
  'protocol',
  'state',
  'storage',
  'graph',
  // The runtime owns the operator contract it drives; the DataStream API implements it.
  'runtime',
  'api',
  'network',
  'coordinator',
  'cluster',
  'connectors',
  'rest',
  'client',
  'cli',
  'testing',
];
const forbidden = layers.map((layer, i) => ({
  name: `layer-${layer}`,
  comment: `src/${layer} may import only from: ${layers.slice(0, i).join(', ') || '(nothing)'}`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: { path: `^src/(${layers.slice(i + 1).join('|')})/` },
}));
forbidden.push(
  { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
  {
    name: 'protocol-is-pure',
    comment: 'src/protocol is pure: no node:* modules, no I/O',
    severity: 'error',
    from: { path: '^src/protocol/' },
    to: { dependencyTypes: ['core'] },
  },
  {
    name: 'package-root-not-cli',
    comment:
      'the public API (src/index.ts) must not pull in the sluice command: its executor comes from src/client',
    severity: 'error',
    from: { path: '^src/index\\.ts$' },
    to: { path: '^src/cli/' },
  },
  {
    name: 'web-shares-only-rest-shapes',
    comment:
      'the web dashboard (web/) runs in a browser and talks to the engine over REST only: of src/ it imports just the REST shapes',
    severity: 'error',
    from: { path: '^web/' },
    to: { path: '^src/', pathNot: '^src/rest/rest-schema\\.ts$' },
  },
  {
    name: 'no-test-support-in-src',
    comment: 'test/ holds test-only code: nothing shipped from src may import it',
    severity: 'error',
    from: { path: '^src/' },
    to: { path: '^test/' },
  },
);
module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
