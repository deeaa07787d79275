// Steps tsc does not do: the console's static files, the CLI, the programmatic API and the
// SQL child process as bundled files, an executable CLI for npx and bin links, and the
// package's type declarations as one file.
import { build } from 'esbuild';
import dts from 'dts-bundle-generator';
import { chmodSync, cpSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';

cpSync('src/console/public', 'dist/console/public', { recursive: true });

/**
 * Modules find files beside them through import.meta.url (the console's files, the SQL
 * child process, package.json, require of CommonJS packages). In a bundle each keeps the
 * URL it has in dist/, so those paths resolve as they do unbundled.
 */
const keepModuleUrls = {
  name: 'keep-module-urls',
  setup(b) {
    const src = resolve('src');
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (!args.path.startsWith(src + sep)) return undefined;
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const inDist = relative(src, args.path).split(sep).join('/').replace(/\.ts$/, '.js');
      return { contents: source.replaceAll('import.meta.url', `new URL('./${inDist}', import.meta.url).href`), loader: 'ts' };
    });
  },
};

/**
 * Fastify requires node:http2 as it loads, for the servers it makes only with `http2: true`,
 * which the emulator never sets; loading the module is 2-3 ms of every import. In the bundle
 * it is a stand-in that loads the real module at the first use of any of its members.
 */
const lazyHttp2 = {
  name: 'lazy-http2',
  setup(b) {
    b.onResolve({ filter: /^node:http2$/ }, () => ({ path: 'node:http2', namespace: 'lazy-http2' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-http2' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_, name) => require('http2')[name] });",
      loader: 'js',
    }));
  },
};

/**
 * Packages only some uses of the emulator load, at their first use (src/lazy-require.ts,
 * `import()`): MQTT.js for virtual devices, @fastify/swagger (with its YAML library) at
 * the first /docs, the YAML parser for a YAML seed file. Inside the main bundle they never ran at start-up, but V8 parsed their
 * ~0.7 MB on every start. Each is one CommonJS file of its own in dist/on-demand/, which the
 * bundles require (or import) by relative path. The route schema compilers (Ajv,
 * fast-json-stringify) stay inside: every emulator compiles schemas at its first requests,
 * and as files of their own they moved ~25 ms from the start to the first request
 * (bench/results/startup-on-demand-bundles.md).
 */
const ON_DEMAND = { mqtt: 'mqtt', '@fastify/swagger': 'swagger', yaml: 'yaml' };
const packageRequire = createRequire(import.meta.url);
await Promise.all(
  Object.entries(ON_DEMAND).map(([pkg, name]) =>
    build({
      entryPoints: [packageRequire.resolve(pkg)],
      outfile: `dist/on-demand/${name}.cjs`,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      logLevel: 'warning',
    }),
  ),
);
const onDemand = {
  name: 'on-demand',
  setup(b) {
    const names = Object.keys(ON_DEMAND).map((n) => n.replace(/[/.]/g, '\\$&'));
    b.onResolve({ filter: new RegExp(`^(${names.join('|')})$`) }, (args) => ({ path: `./on-demand/${ON_DEMAND[args.path]}.cjs`, external: true }));
  },
};

/**
 * One file instead of ~400 modules: `node dist/cli.js start` uses about 40 % less CPU to
 * start and 13 MB less memory (bench/results/startup-bundle.md). Left outside: the native
 * SQLite binding, and what is only loaded on demand (pretty logs for a terminal, the
 * metrics library at the first scrape, the X.509 library when certificates are made).
 */
const bundle = (entry, outfile) =>
  build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['better-sqlite3', 'pino-pretty', 'prom-client', '@peculiar/x509', 'reflect-metadata'],
    // The CommonJS packages inside the bundle call require(); ESM has none of its own.
    banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
    plugins: [keepModuleUrls, lazyHttp2, onDemand],
    logLevel: 'warning',
  });

await bundle('src/cli.ts', 'dist/cli.js');
chmodSync('dist/cli.js', 0o755);
// The programmatic API too: a test suite's `import ... from 'oci-iot-emulator'` is part of
// its start-up. The declarations (dist/index.d.ts and the files it names) stay tsc's.
await bundle('src/index.ts', 'dist/index.js');
// The sql command's child process (forked by src/sql/runner.ts from beside it): a bundle too,
// so the package needs none of tsc's per-module files.
await bundle('src/sql/child.ts', 'dist/sql/child.js');

/**
 * The declarations of the package's exports as one file, with better-sqlite3's types (a
 * devDependency's @types package) inlined: a consumer's tsc with `skipLibCheck: false`
 * needs nothing the package does not install. tsc's per-module .d.ts files stay in dist/
 * for this repository and are not packed (package.json `files`).
 */
const [declarations] = dts.generateDtsBundle(
  [{ filePath: 'src/index.ts', libraries: { inlinedLibraries: ['better-sqlite3', '@types/better-sqlite3'] }, output: { noBanner: true } }],
  { preferredConfigPath: 'tsconfig.build.json' },
);
writeFileSync('dist/index.d.ts', `/// <reference types="node" />\n${declarations}`);
