// Steps tsc does not do: the console's static files, the CLI as one bundled file, and an
// executable CLI for npx and bin links.
import { build } from 'esbuild';
import { chmodSync, cpSync } from 'node:fs';

cpSync('src/console/public', 'dist/console/public', { recursive: true });

// `node dist/cli.js` loads one file instead of ~400 modules: about 40 % less start-up CPU
// and 13 MB less idle RSS (bench/results/startup-bundle.md). dist/index.js, the
// programmatic API, stays tsc's module tree. Left outside the bundle: the native SQLite
// binding, and what is only loaded on demand (pretty logs for a terminal, the metrics
// library at the first scrape, the X.509 library when certificates are made).
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
  logLevel: 'warning',
});
chmodSync('dist/cli.js', 0o755);
