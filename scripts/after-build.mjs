// Steps tsc does not do: the console's static files, the CLI as one bundled file, and an
// executable CLI for npx and bin links.
import { build } from 'esbuild';
import { chmodSync, cpSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';

cpSync('src/console/public', 'dist/console/public', { recursive: true });

// `node dist/cli.js` loads one file instead of ~400 modules: about 40 % less start-up CPU
// and 13 MB less idle RSS (bench/results/startup-bundle.md). dist/index.js, the
// programmatic API, stays tsc's module tree. Left outside the bundle: the native SQLite
// binding, and what is only loaded on demand (pretty logs for a terminal, the metrics
// library at the first scrape, the X.509 library when certificates are made).
/**
 * Modules find files beside them through import.meta.url (the console's files, the SQL
 * child process, package.json, require of CommonJS packages). In the bundle each keeps the
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

await build({
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/cli.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['better-sqlite3', 'pino-pretty', 'prom-client', '@peculiar/x509', 'reflect-metadata'],
  // The CommonJS packages inside the bundle call require(); ESM has none of its own.
  banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
  plugins: [keepModuleUrls],
  logLevel: 'warning',
});
chmodSync('dist/cli.js', 0o755);
