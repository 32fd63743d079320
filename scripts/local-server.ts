/** `npm start` as a child process on a given port, for the scripted checks (docs, browser). */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { isPortFree } from './free-port.ts';
import { projectRoot } from './wrangler.ts';

export interface LocalServer {
  base: string;
  /** The process group of npm start, wrangler and workerd. */
  processGroup: number;
  stop(): Promise<void>;
}

/**
 * Starts `npm start -- --port <port> ...args` and resolves once it answers `GET /`. Fails when
 * the port is taken before it starts, or when that npm start exits first: whatever answers on
 * the port then is not ours.
 */
export async function startLocalServer(port: number, args: string[] = [], seconds = 90): Promise<LocalServer> {
  const base = `http://localhost:${port}`;
  if (!(await isPortFree(port))) throw new Error(`port ${port} is already in use: the server there is not ours`);
  const child = spawn('npm', ['start', '--', '--port', String(port), ...args], {
    cwd: projectRoot,
    detached: true,
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode !== null || !child.pid) return;
    process.kill(-child.pid, 'SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  };
  for (let i = 0; i < seconds; i++) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}`);
    const ok = await fetch(`${base}/`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return { base, processGroup: child.pid!, stop };
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  await stop();
  throw new Error(`${base} did not answer within ${seconds} s`);
}

/**
 * The /proc/<pid>/stat fields after the process name (field 3 onwards: index 0 is the state) of
 * each workerd process of the server, for the CPU and memory the benchmarks read.
 */
export function workerdStats(server: LocalServer): string[][] {
  const stats: string[][] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (name === 'workerd' && Number(fields[2]) === server.processGroup) stats.push(fields);
  }
  return stats;
}
