/** `npm start` as a child process on a given port, for the scripted checks (docs, browser). */
import { spawn } from 'node:child_process';
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
