/**
 * Free TCP ports for the scripted checks. `node scripts/free-port.ts` prints one the OS picks;
 * `node scripts/free-port.ts --check N` exits 1 when something already listens on port N.
 */
import { createServer, type Server } from 'node:net';

const listening = (port = 0): Promise<Server> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, () => resolve(server));
  });

const close = (server: Server) => new Promise((resolve) => server.close(resolve));

/** `count` distinct free ports: all are held open together, then released. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => listening()));
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map(close));
  return ports;
}

/** True when nothing listens on `port` (on any interface). */
export async function isPortFree(port: number): Promise<boolean> {
  try {
    await close(await listening(port));
    return true;
  } catch {
    return false;
  }
}

if (import.meta.main) {
  const [flag, port] = process.argv.slice(2);
  if (flag === '--check') process.exitCode = (await isPortFree(Number(port))) ? 0 : 1;
  else console.log((await freePorts(1))[0]);
}
