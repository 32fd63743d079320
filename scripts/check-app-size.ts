/**
 * `npm run check:app-size`: the JavaScript a browser loads for the app's first page (the entry
 * script of app/dist/index.html and every module it preloads) must stay within 60 KiB gzip.
 * Run after `npm run build:app`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { projectRoot } from './wrangler.ts';

const BUDGET_KIB = 60;
const dist = path.join(projectRoot, 'app/dist');
const html = readFileSync(path.join(dist, 'index.html'), 'utf8');
const scripts = [
  ...html.matchAll(/<(?:script[^>]*\bsrc|link[^>]*rel="modulepreload"[^>]*\bhref)="\/app\/([^"]+\.js)"/g),
].map(([, file]) => file!);
if (scripts.length === 0) throw new Error('app/dist/index.html names no script: build the app first');
const bytes = scripts.reduce((total, file) => total + gzipSync(readFileSync(path.join(dist, file))).length, 0);
const kib = bytes / 1024;
console.log(`app first page: ${scripts.length} scripts, ${kib.toFixed(1)} KiB gzip (budget ${BUDGET_KIB} KiB)`);
if (kib > BUDGET_KIB) process.exitCode = 1;
