/** What the benchmarks share: requests on a keep-alive connection, random orders, statistics. */
import http from 'node:http';

export interface Route {
  name: string;
  /** The server that answers it. */
  base: string;
  path: string;
  method?: 'GET' | 'POST' | 'PATCH';
  /** The body of the request numbered `n`. */
  body?: (n: number) => string;
  token?: string;
  /** Sent as Host, for a server that routes by it (Miniflare's workers). */
  host?: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let sent = 0;

/** One request on the one keep-alive connection; its latency in ms. Anything but 2xx fails. */
export function send(route: Route): Promise<number> {
  const body = route.body?.(++sent);
  const headers: Record<string, string> = {};
  if (route.token) headers.Authorization = `Bearer ${route.token}`;
  if (route.host) headers.Host = route.host;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const request = http.request(
      `${route.base}${route.path}`,
      { method: route.method ?? 'GET', agent, headers },
      (response) => {
        response.resume();
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          if (status < 200 || status > 299) reject(new Error(`${route.name}: ${status}`));
          else resolve(performance.now() - started);
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** Closes the keep-alive connection (the next request opens a new one), so the process can exit. */
export const closeConnections = () => agent.destroy();

/** A uniformly random order (Fisher–Yates). */
export function shuffled<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** The mean of the middle 96 %: a GC pause or a page-cache miss does not decide a ratio. */
export function trimmedMean(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const cut = Math.floor(sorted.length * 0.02);
  const kept = sorted.slice(cut, sorted.length - cut);
  return kept.reduce((sum, v) => sum + v, 0) / kept.length;
}

/**
 * Rounds of `count` requests of each route alone, the routes in a new random order each round;
 * each route's median round of `measure(route, count)`, so a busy moment does not decide.
 */
export async function medianRounds(
  routes: Route[],
  rounds: number,
  measure: (route: Route) => Promise<number>,
): Promise<Map<string, number>> {
  const results = new Map<string, number[]>(routes.map(({ name }) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const route of shuffled(routes)) results.get(route.name)!.push(await measure(route));
  }
  return new Map([...results].map(([name, values]) => [name, median(values)]));
}

export const fmt = (n: number, digits = 2) => n.toFixed(digits);
