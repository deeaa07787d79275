/**
 * The package as a user gets it: `npm pack`, then `npm install <tarball>` into a fresh
 * project, which runs the README's test-suite example with vitest, type-checks a consumer
 * with `skipLibCheck: false`, and uses the installed command. Dependencies come from npm's
 * cache (`--prefer-offline`); vitest, TypeScript and @types/node are linked from this
 * repository. `--ignore-scripts` with better-sqlite3's binary copied from this repository
 * stands in for its native build (prebuilt binaries are downloaded from GitHub, which tests
 * must not reach).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';

const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });

let work: string;
let project: string;
let packed: Array<{ path: string }>;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'oci-iot-packed-'));
  project = join(work, 'project');
  mkdirSync(project);
  // dist/ is built already (npm test builds first): pack it as it is.
  const [info] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], root)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  packed = info.files;
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'a-users-project', private: true, type: 'module' }));
  npm(['install', '--save-dev', join(work, info.filename), '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'], project);
  const modules = join(project, 'node_modules');
  cpSync(join(root, 'node_modules/better-sqlite3/build'), join(modules, 'better-sqlite3/build'), { recursive: true });
  for (const linked of ['vitest', 'typescript', '@types/node']) {
    if (existsSync(join(modules, linked))) continue; // a dependency brought it
    mkdirSync(dirname(join(modules, linked)), { recursive: true });
    symlinkSync(join(root, 'node_modules', linked), join(modules, linked));
  }
}, 300_000);
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
}, 120_000);

it('the tarball holds the bundles, their on-demand files, the console, one declaration file, the LICENSE: nothing else', () => {
  const files = packed.map((f) => f.path).sort();
  expect(files).toEqual(
    expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/cli.js', 'dist/index.js', 'dist/index.d.ts', 'dist/sql/child.js', 'dist/on-demand/mqtt.cjs', 'dist/on-demand/swagger.cjs', 'dist/on-demand/yaml.cjs', 'dist/console/public/index.html']),
  );
  const allowed = /^(LICENSE|README\.md|package\.json|dist\/(cli\.js|index\.js|index\.d\.ts|sql\/child\.js|on-demand\/[\w-]+\.cjs|console\/public\/[\w.-]+\.(html|js|css)))$/;
  expect(files.filter((f) => !allowed.test(f))).toEqual([]);
});

it("the README's test-suite example passes in a fresh project, and leaves nothing in the temporary directory", () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const example = /## In your test suite[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)![1];
  writeFileSync(join(project, 'example.test.ts'), example);
  const temp = join(work, 'tmp');
  mkdirSync(temp);
  const run = spawnSync(process.execPath, [join(project, 'node_modules/vitest/vitest.mjs'), 'run', 'example.test.ts'], {
    cwd: project,
    encoding: 'utf8',
    env: { ...process.env, TMPDIR: temp, NO_COLOR: '1' },
    timeout: 120_000,
  });
  expect(run.status, run.stdout + run.stderr).toBe(0);
  expect(run.stdout).toMatch(/Tests\s+1 passed/);
  // No database, no CA key: startEmulator's close() removed what it made.
  expect(readdirSync(temp).filter((f) => f.startsWith('oci-iot-emulator-'))).toEqual([]);
}, 180_000);

it("the package's types compile in a consumer with skipLibCheck: false", () => {
  writeFileSync(
    join(project, 'consumer.ts'),
    `import { startEmulator, type StartedEmulator, type TestDevice, type RawCommandData, type StartOptions } from 'oci-iot-emulator';
const options: StartOptions = { clock: 'manual' };
const emulator: StartedEmulator = await startEmulator(options);
const device: TestDevice = await emulator.createDevice({ displayName: 'thermostat' });
const id: number = await emulator.invoke(device.instanceId, { requestDataFormat: 'TEXT', requestEndpoint: 'cmd', requestData: 'hi' });
const row: RawCommandData = await emulator.waitForCommand(id, 'REFUSED');
const one = emulator.db.prepare('select 1 as one').get() as { one: number };
console.log(row.delivery_status, one.one, emulator.advance('PT1M'), emulator.sql('select 1').rows);
await emulator.close();
`,
  );
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, noEmit: true, types: ['node'] }, files: ['consumer.ts'] }),
  );
  const tsc = spawnSync(process.execPath, [join(project, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: project, encoding: 'utf8', timeout: 180_000 });
  expect(tsc.stdout + tsc.stderr).toBe('');
  expect(tsc.status).toBe(0);
}, 240_000);

it('the installed command answers --version, each command its own --help, and runs sql on a database the API made', async () => {
  const bin = join(project, 'node_modules/.bin/oci-iot-emulator');
  const cli = (...args: string[]) => spawnSync(bin, args, { cwd: project, encoding: 'utf8', timeout: 60_000 });
  expect(cli('--version').stdout).toBe(`${pkg.name} ${pkg.version}\n`);
  expect(cli('demo', '--help').stdout).toMatch(/^Usage: oci-iot-emulator demo/);
  expect(cli('sql', '--help').stdout).toMatch(/^Usage: oci-iot-emulator sql/);
  expect(cli('cert', 'issue', '--help').stdout).toMatch(/^Usage: oci-iot-emulator cert issue/);

  // A database made through the installed package's API, then read by its sql command (the child process bundle).
  const data = join(work, 'data');
  const script = `import { startEmulator } from 'oci-iot-emulator';
const emu = await startEmulator({ dataDir: ${JSON.stringify(data)} });
await emu.createDevice({ displayName: 'from-the-tarball' });
const page = await fetch(emu.consoleUrl);
const chart = await fetch(emu.restUrl + '/console/vendor/uPlot.iife.min.js');
const docs = await (await fetch(emu.restUrl + '/docs/json')).json();
console.log(JSON.stringify({ page: page.status, chart: chart.status, openapi: docs.openapi }));
await emu.close();`;
  const made = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: project, encoding: 'utf8', timeout: 60_000 });
  expect(made.status, made.stderr).toBe(0);
  expect(JSON.parse(made.stdout.trim())).toEqual({ page: 200, chart: 200, openapi: '3.1.0' });
  const sql = cli('sql', 'select display_name from digital_twin_instances', '--data-dir', data);
  expect(sql.stderr).toBe('');
  expect(sql.stdout).toContain('from-the-tarball');
}, 180_000);
