/// <reference types="vite/client" />
/**
 * The shape of src/: no module imports itself through others (type-only imports count too: a
 * cycle of types still ties two modules' changes together), and request variables are read with
 * `c.get`. Reads the sources as text.
 */
import { describe, expect, it } from 'vitest';

const sources = import.meta.glob<string>('../src/**/*.ts', { query: '?raw', import: 'default', eager: true });

/** `../src/a/b.ts` importing `./c` -> `../src/a/c.ts` (an import of a folder's index too). */
function resolve(from: string, specifier: string): string | undefined {
  const base = from.split('/').slice(0, -1);
  for (const part of specifier.split('/')) {
    if (part === '..') base.pop();
    else if (part !== '.') base.push(part);
  }
  const path = base.join('/');
  return [`${path}.ts`, `${path}/index.ts`, path].find((candidate) => candidate in sources);
}

const imports = new Map(
  Object.entries(sources).map(([file, text]) => [
    file,
    [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s+'(\.[^']+)'/gm)]
      .map(([, specifier]) => resolve(file, specifier!))
      .filter((target): target is string => target !== undefined),
  ]),
);

/** Every cycle found by a depth-first walk, as the chain of files that closes it. */
function cycles(): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const walk = (file: string, path: string[]) => {
    if (path.includes(file)) return void found.push([...path.slice(path.indexOf(file)), file]);
    if (done.has(file)) return;
    for (const target of imports.get(file) ?? []) walk(target, [...path, file]);
    done.add(file);
  };
  for (const file of imports.keys()) walk(file, []);
  return found;
}

describe('src/', () => {
  it('reads every module and its relative imports', () => {
    expect(imports.size).toBeGreaterThan(50);
    expect(imports.get('../src/config.ts')).toContain('../src/auth/key-material.ts');
  });

  it('has no import cycle', () => {
    expect(cycles().map((cycle) => cycle.join(' -> '))).toEqual([]);
  });

  // Hono's `c.var` getter copies every variable into a new object on each read: with three reads
  // or more per request, a tenth of a simple route's CPU (bench/direct.ts).
  it('reads request variables with c.get, never through c.var', () => {
    const reads = Object.entries(sources).flatMap(([file, text]) =>
      [...text.matchAll(/\b\w+\.var\.\w+/g)].map(([read]) => `${file}: ${read}`),
    );
    expect(reads).toEqual([]);
  });
});
