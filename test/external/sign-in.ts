/**
 * A browser for the external sign-in tests: it starts a sign-in with us, logs in at the test
 * provider (its development login form, then its consent), and comes back to our callback, keeping
 * each site's cookies as a browser would.
 */
import { expect, inject } from 'vitest';
import { callWithEnv, SITE_URL } from '../helpers';
import { CLIENT, GITHUB_CLIENT } from './provider-client';

/** AUTH_PROVIDERS naming the test provider (`local`) and the one whose keys are not its own (`rogue`). */
export const providersEnv = () => ({
  AUTH_PROVIDERS: JSON.stringify([
    { id: 'local', name: 'Local ID', type: 'oidc', issuer: inject('externalIssuer'), client_id: CLIENT.client_id },
    { id: 'rogue', name: 'Rogue ID', type: 'oidc', issuer: inject('rogueIssuer'), client_id: CLIENT.client_id },
    { id: 'github', name: 'GitHub', type: 'github', issuer: inject('gitHubUrl'), client_id: GITHUB_CLIENT.client_id },
  ]),
  AUTH_PROVIDER_GITHUB_SECRET: GITHUB_CLIENT.client_secret,
  AUTH_PROVIDER_LOCAL_SECRET: CLIENT.client_secret,
  AUTH_PROVIDER_ROGUE_SECRET: CLIENT.client_secret,
});

/** name -> value, from Set-Cookie headers; a cleared cookie is dropped. */
export class CookieJar {
  readonly cookies = new Map<string, string>();

  store(response: Response): this {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      const [name, value] = [pair!.slice(0, at).trim(), pair!.slice(at + 1).trim()];
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return this;
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/** A request to us with the environment of the tests plus `env`, and our site's cookies. */
export function callUs(env: Record<string, unknown>, url: string | URL, jar: CookieJar, init: RequestInit = {}) {
  const { pathname, search } = new URL(url, SITE_URL);
  return callWithEnv(env, `${pathname}${search}`, {
    ...init,
    headers: { ...(init.headers as Record<string, string>), Cookie: jar.header() },
  });
}

/** GET /auth/external/<provider>/: the provider's authorization URL, with our login cookie in `jar`. */
export async function startSignIn(env: Record<string, unknown>, provider: string, jar = new CookieJar()) {
  const response = await callUs(env, `/auth/external/${provider}/`, jar);
  expect(response.status, await response.clone().text()).toBe(302);
  jar.store(response);
  return { authorizeUrl: new URL(response.headers.get('Location')!), jar };
}

/** At the provider: log in as `login` and consent; answers the URL of our callback it sends back to. */
export async function logInAtProvider(authorizeUrl: URL, login: string): Promise<URL> {
  const jar = new CookieJar();
  // The GitHub-like server signs in the login its authorize URL names.
  if (authorizeUrl.pathname === '/login/oauth/authorize') authorizeUrl.searchParams.set('login', login);
  let url = authorizeUrl;
  let init: RequestInit = {};
  for (let step = 0; step < 12; step++) {
    const response = await fetch(url, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), Cookie: jar.header() },
      redirect: 'manual',
    });
    jar.store(response);
    if (response.status >= 300 && response.status < 400) {
      const next = new URL(response.headers.get('Location')!, url);
      await response.body?.cancel();
      if (next.href.startsWith(SITE_URL)) return next;
      [url, init] = [next, {}];
      continue;
    }
    const page = await response.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(page)?.[1];
    const prompt = /name="prompt" value="(\w+)"/.exec(page)?.[1];
    if (!action || !prompt) throw new Error(`unexpected provider page (${response.status}): ${page.slice(0, 300)}`);
    const form: Record<string, string> = prompt === 'login' ? { prompt, login, password: 'any' } : { prompt };
    url = new URL(action.replace(/&amp;/g, '&'), url);
    init = {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    };
  }
  throw new Error('the provider never sent the browser back');
}

/** A whole sign-in: start, the provider's login, our callback. Answers the callback's response. */
export async function signInWith(env: Record<string, unknown>, provider: string, login: string) {
  const { authorizeUrl, jar } = await startSignIn(env, provider);
  const callback = await logInAtProvider(authorizeUrl, login);
  const response = await callUs(env, callback, jar);
  jar.store(response);
  return { response, jar, callback, location: new URL(response.headers.get('Location') ?? '/', SITE_URL) };
}
