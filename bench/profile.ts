/**
 * A CPU profile of one Worker of a workerd process, through its inspector (the DevTools protocol):
 * where a route's time goes, by function, for `npm run bench:direct -- --profile <route>`.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** A DevTools session on the inspector's target whose title names `worker`. */
async function connect(inspector: string, worker: string) {
  const targets = (await (await fetch(`${inspector}/json`)).json()) as {
    title: string;
    webSocketDebuggerUrl: string;
  }[];
  const target = targets.find(({ title }) => title.endsWith(`worker core:user:${worker}`));
  if (!target) throw new Error(`no inspector target for ${worker}: ${targets.map(({ title }) => title).join(', ')}`);
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve);
    socket.addEventListener('error', reject);
  });
  let lastId = 0;
  const waiting = new Map<number, (result: unknown) => void>();
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) waiting.get(message.id)?.(message.result);
  });
  const call = <T>(method: string, params: Record<string, unknown> = {}) =>
    new Promise<T>((resolve) => {
      waiting.set(++lastId, resolve as (result: unknown) => void);
      socket.send(JSON.stringify({ id: lastId, method, params }));
    });
  return { call, close: () => socket.close() };
}

const sorted = (times: Map<string, number>, scale: (us: number) => number): [string, number][] =>
  [...times].map(([name, us]): [string, number] => [name, scale(us)]).sort((a, b) => b[1] - a[1]);

/**
 * The package (or our src/ file) of a line of wrangler's bundle, from the `// node_modules/...`
 * and `// src/...` comments esbuild puts before each module. A package is named without its
 * inner path.
 */
function bundleModules(bundle: string): (line: number) => string {
  const starts: [number, string][] = [];
  bundle.split('\n').forEach((text, line) => {
    const module = /^\/\/ (node_modules\/(?:@[^/]+\/)?[^/]+|src\/\S+)(?:\/\S*)?$/.exec(text)?.[1];
    if (module) starts.push([line, module.replace(/^node_modules\//, '')]);
  });
  return (line) => {
    let found = "the bundle's own glue";
    for (const [start, module] of starts) {
      if (start > line) break;
      found = module;
    }
    return found;
  };
}

/**
 * Profiles `worker` while `load` runs (sampling every 50 µs); answers the self time of each
 * function and of each package of `bundle` (the Worker's code), in ms per request, the largest
 * first, with the total.
 */
export async function profileWorker(
  inspector: string,
  worker: string,
  requests: number,
  bundle: string,
  load: () => Promise<void>,
): Promise<{ functions: [string, number][]; modules: [string, number][]; total: number }> {
  const session = await connect(inspector, worker);
  try {
    await session.call('Profiler.enable');
    await session.call('Profiler.setSamplingInterval', { interval: 50 });
    await session.call('Profiler.start');
    await load();
    const { profile } = await session.call<{ profile: Profile }>('Profiler.stop');
    const timeOf = new Map<number, number>();
    profile.samples.forEach((node, i) => timeOf.set(node, (timeOf.get(node) ?? 0) + (profile.timeDeltas[i] ?? 0)));
    const byFunction = new Map<string, number>();
    const byModule = new Map<string, number>();
    const moduleAt = bundleModules(bundle);
    let total = 0;
    for (const { id, callFrame } of profile.nodes) {
      const us = timeOf.get(id) ?? 0;
      total += us;
      const module = callFrame.url.startsWith('cloudflare-internal:')
        ? 'the runtime: the D1 client (cloudflare-internal)'
        : callFrame.url === ''
          ? `the runtime: ${callFrame.functionName.startsWith('(') ? callFrame.functionName : 'built-ins (Response, fetch, URL, crypto, ...)'}`
          : moduleAt(callFrame.lineNumber);
      byModule.set(module, (byModule.get(module) ?? 0) + us);
      const where = callFrame.url ? ` (${callFrame.url.split('/').pop()}:${callFrame.lineNumber + 1})` : '';
      const name = `${callFrame.functionName || '(anonymous)'}${where}`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    }
    const perRequest = (us: number) => us / 1000 / requests;
    return {
      functions: sorted(byFunction, perRequest),
      modules: sorted(byModule, perRequest),
      total: perRequest(total),
    };
  } finally {
    session.close();
  }
}
