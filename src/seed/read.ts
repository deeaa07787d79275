import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkShape, SeedError, type SeedFile } from './format.js';

export interface LoadedSeed {
  /** The file it came from, as errors name it. */
  file: string;
  seed: SeedFile;
}

const SEED_FILE = /\.(json|ya?ml)$/i;

/** Parses one seed file's text, JSON or YAML by its name. */
export async function parseSeedText(text: string, file: string): Promise<SeedFile> {
  let parsed: unknown;
  if (/\.ya?ml$/i.test(file)) {
    // Loaded only for a YAML seed: most starts have none.
    const yaml = await import('yaml');
    // The built CLI loads it as a CommonJS file of its own (scripts/after-build.mjs).
    const parse = (yaml.parse as typeof yaml.parse | undefined) ?? yaml.default.parse;
    try {
      parsed = parse(text);
    } catch (err) {
      throw new SeedError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
  } else {
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new SeedError(`${file}: not valid JSON: ${(err as Error).message}`);
    }
  }
  return checkShape(parsed ?? {}, file);
}

/**
 * A seed file, or every *.json, *.yaml and *.yml file of a directory in name order
 * (an empty directory seeds nothing, so an image can always point at its mount point).
 */
export async function readSeed(path: string): Promise<LoadedSeed[]> {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (err) {
    throw new SeedError(`${path}: cannot read the seed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const files = isDirectory
    ? readdirSync(path)
        .filter((name) => SEED_FILE.test(name))
        .sort()
        .map((name) => join(path, name))
    : [path];
  const loaded: LoadedSeed[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new SeedError(`${file}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    loaded.push({ file, seed: await parseSeedText(text, file) });
  }
  return loaded;
}
