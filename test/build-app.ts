/**
 * Vitest's global setup for the Worker's tests: the ASSETS binding serves app/dist, which a fresh
 * clone does not have until the app is built (npm start builds it too).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export default function buildAppOnce(): void {
  const root = path.join(import.meta.dirname, '..');
  if (existsSync(path.join(root, 'app/dist/index.html'))) return;
  execFileSync('npm', ['run', '-s', 'build:app'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}
