/**
 * The README and docs/ against what the emulator does, where a machine can tell: every
 * relative link (and #anchor) resolves, every `oci-iot-emulator` flag they name is in the
 * built CLI's --help, and every REST path they name is a route the emulator has.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from '../support/harness.js';

const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');
const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const text = new Map(pages.map((p) => [p, readFileSync(join(root, p), 'utf8')]));
/** Markdown without HTML comments (placeholders for pages still to come). */
const visible = (page: string) => text.get(page)!.replace(/<!--[\s\S]*?-->/g, '');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  const body = markdown.replace(/```[\s\S]*?```/g, '');
  for (const m of body.matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = m[1]
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n ? `${slug}-${n}` : slug);
  }
  return out;
}

describe('links', () => {
  it.each(pages)('every relative link in %s names a file that exists, and a heading it has', (page) => {
    const body = visible(page).replace(/```[\s\S]*?```/g, '');
    const links = [...body.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((l) => !/^[a-z]+:/i.test(l));
    for (const link of links) {
      const [file, anchor] = link.split('#');
      const target = file ? join(dirname(join(root, page)), file) : join(root, page);
      expect(existsSync(target), `${page}: ${link}`).toBe(true);
      if (anchor && target.endsWith('.md')) expect(anchors(readFileSync(target, 'utf8')), `${page}: ${link}`).toContain(anchor);
    }
  });
});

describe('command-line flags', () => {
  const cli = join(root, 'dist', 'cli.js');
  const help = (args: string[]) => spawnSync(process.execPath, [cli, ...args, '--help'], { encoding: 'utf8' }).stdout;
  const commands = [
    [],
    ['start'],
    ['demo'],
    ['sql'],
    ['cert', 'issue'],
    ['export'],
    ['device', 'create'],
    ['fault', 'set'],
    ['virtual-device', 'add'],
    ['webhook', 'add'],
    ...['create', 'get', 'list', 'invoke-raw-json-command', 'invoke-raw-text-command', 'invoke-raw-binary-command'].map((c) => ['iot', 'digital-twin-instance', c]),
  ];
  const known = new Set(commands.flatMap((c) => [...help(c).matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)].map((m) => m[0])));
  known.add('--help').add('--version');

  it('every command prints its own usage for --help', () => {
    for (const c of commands.filter((c) => c.length)) expect(help(c), c.join(' ')).toMatch(new RegExp(`Usage: oci-iot-emulator ${c[0]}|oci-iot-emulator \\[start\\]`));
  });

  it('every flag given to oci-iot-emulator in the README and docs/ is one its --help lists', () => {
    expect(known.size).toBeGreaterThan(40);
    const unknown: string[] = [];
    for (const page of pages) {
      // Lines that run the emulator's CLI (a shell line, continued with \), and the flags in them.
      const lines = visible(page).replace(/\\\n/g, ' ').split('\n');
      const invocation = /(?<=^|[\s`($])(?:oci-iot-emulator|dist\/cli\.js|src\/cli\.ts|npm start --) /;
      for (const line of lines.filter((l) => invocation.test(l))) {
        const own = line.slice(line.search(invocation)).split(/\s[|&;]\s|`|\)|\$\(/)[0];
        for (const m of own.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)) if (!known.has(m[0])) unknown.push(`${page}: ${m[0]} in ${own.trim().slice(0, 100)}`);
      }
      // A flag in prose names the emulator's when it is written `--flag` alone in backticks.
      for (const m of visible(page).matchAll(/`(--[a-z][a-z0-9-]*)(?:[ =][^`]*)?`/g)) {
        if (!known.has(m[1]) && !FOREIGN.has(m[1])) unknown.push(`${page}: \`${m[1]}\``);
      }
    }
    expect(unknown).toEqual([]);
  });
});

/** Flags of other tools the docs show in backticks (mosquitto, curl, openssl, npm, node, the oci CLI, docker, bench scripts). */
const FOREIGN = new Set([
  '--cafile', '--cacert', '--cert', '--key', '--user', '--data', '--wait-for-state', '--insecure', '--prefer-offline', '--save-dev',
  '--import', '--input-type', '--no-pin', '--quick', '--profile', '--only', '--soak', '--soak-sample', '--soak-rate', '--soak-telemetry',
  '--soak-devices', '--before', '--after', '--name', '--rounds', '--workload', '--devices', '--concurrency', '--batch', '--checkpointer', '--ceiling', '--last',
  '--build', '--build-arg', '--ignore-scripts', '--omit', '--from-json', '--endpoint', '--output', '--raw-output', '--arg', '--argjson', '--no-response',
]);

describe('REST paths', () => {
  let t: TestEmulator;
  let routes: Array<{ segments: string[] }>;
  beforeAll(async () => {
    t = await startTestEmulator();
    const spec = (await (await fetch(`${t.emu.restUrl}/docs/json`)).json()) as { paths: Record<string, unknown> };
    // Routes /docs/json leaves out: the description itself, the console, /metrics.
    routes = [...Object.keys(spec.paths), '/docs', '/docs/json', '/metrics', '/console/', '/emulator/ca.pem'].map((p) => ({ segments: p.split('/') }));
  });
  afterAll(() => t?.close());

  /** `/emulator/faults[/{id}]` is two paths. */
  const expand = (path: string): string[] => {
    const m = /^(.*?)\[([^\]]*)\](.*)$/.exec(path);
    return m ? [...expand(m[1] + m[3]), ...expand(m[1] + m[2] + m[3])] : [path];
  };
  const placeholder = (s: string) => /[{}<>$…:]|^ocid1\.|^\d+$/.test(s);
  const matches = (doc: string[], route: string[]) =>
    doc.length === route.length && doc.every((s, i) => s === route[i] || (route[i].startsWith('{') && (placeholder(s) || /^[\w.-]+$/.test(s))));

  /** A route /docs/json hides (event streams, the console's own): an HTTP GET of it is not the unknown-path 404. */
  async function served(path: string): Promise<boolean> {
    const abort = new AbortController();
    const url = t.emu.restUrl + path.split('/').map((s) => (placeholder(s) ? 'x' : s)).join('/');
    const res = await fetch(url, { signal: abort.signal });
    const body = res.status === 404 ? await res.text() : '';
    abort.abort();
    return !body.includes('"code":"NotFound"');
  }

  it('every path under /2025…, /2018…, /2019…, /ords and /emulator in the README and docs/ is a route', async () => {
    const missing: string[] = [];
    let checked = 0;
    for (const page of pages) {
      const body = visible(page);
      for (const m of body.matchAll(/\/(?:20250531|20180608|20190301|ords|emulator)(?:\/[^\s`"'?)|,;*]*)?/g)) {
        // What stands before it on the line: a host or $VARIABLE starts the path; anything else with a / means it is the tail of a longer one.
        const before = /[^\s`"'(=]*$/.exec(body.slice(0, m.index))![0];
        if (before.includes('/') && !/^(https?:\/\/[^/]*|\$\{?\w+\}?|[\w.-]+:\d+)$/.test(before)) continue;
        if (body[m.index + m[0].length] === '*') continue; // `/emulator/*`: a family, not a path
        for (const path of expand(m[0].replace(/[.:]+$/, '').replace(/\/$/, ''))) {
          const segments = path.split('/');
          if (segments.some((s) => s === '…' || s === '...')) continue; // an elided middle
          checked++;
          if (routes.some((r) => matches(segments, r.segments) || matches(segments, r.segments.slice(0, segments.length)))) continue;
          if (!(await served(path))) missing.push(`${page}: ${path}`);
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
    expect([...new Set(missing)]).toEqual([]);
  });
});
