/**
 * The API client and the session, against a fake network: the token is sent, a 401 refreshes
 * the session once and retries once, the session routes carry the cookie, nothing is stored; a
 * login's second step, the passkey login and re-authentication each end with the token they get.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { assertion, json, token } from '../test-support';

/** The browser's passkey prompt, answered by each test. */
const webauthn = vi.hoisted(() => ({ startAuthentication: vi.fn(), startRegistration: vi.fn() }));
vi.mock('@simplewebauthn/browser', () => webauthn);

type Handler = (request: Request) => Response | Promise<Response>;
let handler: Handler;
const requests: Request[] = [];

beforeEach(() => {
  requests.length = 0;
  vi.resetModules();
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: Request) => {
      requests.push(input.clone());
      return handler(input);
    }),
  );
});

afterEach(() => {
  vi.unstubAllGlobals();
  webauthn.startAuthentication.mockReset();
});

async function loggedIn() {
  const session = await import('../session');
  const { api } = await import('./client');
  handler = () => json({ token: token('first') });
  expect(await session.logIn('first', 'pw')).toBeNull();
  requests.length = 0;
  return { session, api };
}

describe('the API client', () => {
  it('sends the access token as a Bearer header', async () => {
    const { api, session } = await loggedIn();
    handler = () => json({ id: 1, url: 'u', username: 'first', tasks: [] });
    await api.GET('/users/me/');
    expect(requests[0]!.headers.get('Authorization')).toBe(`Bearer ${session.session.token}`);
  });

  it('on a 401, refreshes through the session once and retries once with the new token', async () => {
    const { api, session } = await loggedIn();
    const fresh = token('first', 600);
    handler = (request) => {
      const path = new URL(request.url).pathname;
      if (path === '/auth/session/refresh/') return json({ token: fresh });
      return request.headers.get('Authorization') === `Bearer ${fresh}`
        ? json({ ok: true })
        : json({ detail: 'x' }, 401);
    };
    const { response } = await api.GET('/users/me/');
    expect(response.status).toBe(200);
    expect(requests.map((request) => new URL(request.url).pathname)).toEqual([
      '/users/me/',
      '/auth/session/refresh/',
      '/users/me/',
    ]);
    expect(session.session.token).toBe(fresh);
  });

  it('gives up after one retry, and when the session cannot refresh it forgets the user', async () => {
    const { api, session } = await loggedIn();
    handler = (request) =>
      new URL(request.url).pathname === '/auth/session/refresh/' ? json({ detail: 'ended' }, 401) : json({}, 401);
    const { response } = await api.GET('/users/me/');
    expect(response.status).toBe(401);
    expect(requests).toHaveLength(2);
    expect(session.session.user).toBeNull();
  });

  it('retries only once: a retry answered 401 again is the answer', async () => {
    const { api } = await loggedIn();
    handler = (request) =>
      new URL(request.url).pathname === '/auth/session/refresh/' ? json({ token: token('first') }) : json({}, 401);
    const { response } = await api.GET('/users/me/');
    expect(response.status).toBe(401);
    expect(requests.map((request) => new URL(request.url).pathname)).toEqual([
      '/users/me/',
      '/auth/session/refresh/',
      '/users/me/',
    ]);
  });

  it('three requests answered 401 at once share one refresh', async () => {
    const { api } = await loggedIn();
    const fresh = token('first', 600);
    handler = async (request) => {
      if (new URL(request.url).pathname === '/auth/session/refresh/') {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return json({ token: fresh });
      }
      return request.headers.get('Authorization') === `Bearer ${fresh}` ? json({}) : json({}, 401);
    };
    const answers = await Promise.all([api.GET('/users/me/'), api.GET('/users/me/'), api.GET('/users/me/')]);
    expect(answers.map(({ response }) => response.status)).toEqual([200, 200, 200]);
    expect(requests.filter((request) => request.url.endsWith('/auth/session/refresh/'))).toHaveLength(1);
  });

  it('sends back the newest database bookmark it has seen', async () => {
    const { api } = await import('./client');
    const newer = '00000000-00000002-00000000-00000000000000000000000000000000';
    const older = '00000000-00000001-00000000-00000000000000000000000000000000';
    let answerWith = newer;
    handler = () =>
      new Response('{}', { headers: { 'Content-Type': 'application/json', 'X-D1-Bookmark': answerWith } });
    await api.GET('/tasks/');
    expect(requests[0]!.headers.get('X-D1-Bookmark')).toBeNull();
    answerWith = older;
    await api.GET('/tasks/');
    await api.GET('/tasks/');
    expect(requests.slice(1).map((request) => request.headers.get('X-D1-Bookmark'))).toEqual([newer, newer]);
  });

  it('does not retry an anonymous request', async () => {
    const { api } = await import('./client');
    handler = () => json({ detail: 'Authentication credentials were not provided.' }, 401);
    await api.POST('/tasks/', { body: { title: 't', due_to: '2030-01-01T00:00:00Z' } });
    expect(requests).toHaveLength(1);
    expect(requests[0]!.headers.get('Authorization')).toBeNull();
  });
});

describe('the session', () => {
  it('logs in and out through the cookie routes, with credentials, keeping nothing in storage', async () => {
    const { session } = await loggedIn();
    expect(session.session.user).toEqual({ id: 1, username: 'first', isStaff: false });
    handler = () => new Response(null, { status: 204 });
    await session.logOut();
    expect(requests[0]!.method).toBe('DELETE');
    expect(new URL(requests[0]!.url).pathname).toBe('/auth/session/');
    expect(requests[0]!.credentials).toBe('include');
    expect(session.session.token).toBeNull();
    expect(localStorage.length + sessionStorage.length).toBe(0);
  });

  it('answers the API problem of a refused login', async () => {
    const session = await import('../session');
    handler = () => json({ non_field_errors: ['Unable to log in with provided credentials.'] }, 400);
    expect(await session.logIn('a', 'b')).toEqual({
      fields: {},
      message: 'Unable to log in with provided credentials.',
    });
    expect(session.session.user).toBeNull();
  });

  it('keeps the user when the server cannot refresh right now (429), and tries again', async () => {
    vi.useFakeTimers();
    try {
      const { session } = await loggedIn();
      handler = () => json({ detail: 'Request was throttled.' }, 429);
      expect(await session.refresh()).toBe(true);
      expect(session.session.user?.username).toBe('first');
      handler = () => json({ token: token('second') });
      await vi.advanceTimersByTimeAsync(10_000);
      expect(session.session.user?.username).toBe('second');
    } finally {
      vi.useRealTimers();
    }
  });

  it('never overlaps session requests: a login waits for the refresh on its way', async () => {
    const session = await import('../session');
    const order: string[] = [];
    handler = async (request) => {
      const path = new URL(request.url).pathname;
      order.push(`start ${path}`);
      if (path === '/auth/session/refresh/') {
        await new Promise((resolve) => setTimeout(resolve, 30));
        order.push(`end ${path}`);
        return json({ detail: 'Session has expired or has been ended.' }, 401);
      }
      order.push(`end ${path}`);
      return json({ token: token('again') });
    };
    const refreshed = session.refresh();
    const loggedInAgain = session.logIn('again', 'pw');
    expect(await refreshed).toBe(false);
    expect(await loggedInAgain).toBeNull();
    expect(order).toEqual([
      'start /auth/session/refresh/',
      'end /auth/session/refresh/',
      'start /auth/session/',
      'end /auth/session/',
    ]);
    expect(session.session.user?.username).toBe('again');
  });

  it('times the refresh by the token lifetime, not by a device clock that is off', async () => {
    vi.useFakeTimers();
    try {
      const session = await import('../session');
      // The server's clock is a day behind this device's: exp is long past by the device's clock.
      handler = () => json({ token: token('first', 300, Math.floor(Date.now() / 1000) - 86_400) });
      await session.logIn('first', 'pw');
      requests.length = 0;
      await vi.advanceTimersByTimeAsync(269_000);
      expect(requests).toHaveLength(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('refreshes shortly before the access token expires', async () => {
    vi.useFakeTimers();
    try {
      const session = await import('../session');
      handler = () => json({ token: token('first', 300) });
      await session.logIn('first', 'pw');
      requests.length = 0;
      await vi.advanceTimersByTimeAsync(269_000);
      expect(requests).toHaveLength(0);
      await vi.advanceTimersByTimeAsync(2_000);
      expect(requests.map((request) => new URL(request.url).pathname)).toEqual(['/auth/session/refresh/']);
    } finally {
      vi.useRealTimers();
    }
  });
});

const pathOf = (request: Request) => new URL(request.url).pathname;

describe('the staged login', () => {
  it('answers the second step for a user with a factor, and sets no token', async () => {
    const session = await import('../session');
    handler = () => json({ mfa_required: true, mfa_token: 'mfa.jwt', methods: ['totp', 'recovery_code', 'webauthn'] });
    expect(await session.logIn('first', 'pw')).toEqual({
      mfaToken: 'mfa.jwt',
      methods: ['totp', 'recovery_code', 'webauthn'],
    });
    expect(session.session.token).toBeNull();
  });

  it('verifies a code through the cookie route with the mfa_token, and then uses the token', async () => {
    const session = await import('../session');
    const issued = token('first');
    handler = () => json({ token: issued });
    expect(await session.verifySecondFactor('mfa.jwt', { code: '123456' })).toBeNull();
    expect(requests.map(pathOf)).toEqual(['/auth/mfa/verify/']);
    expect(requests[0]!.credentials).toBe('include');
    expect(await requests[0]!.json()).toEqual({ mfa_token: 'mfa.jwt', code: '123456' });
    expect(session.session.token).toBe(issued);
    expect(session.session.user?.username).toBe('first');
  });

  it('answers the problem of a wrong code and keeps the user logged out', async () => {
    const session = await import('../session');
    handler = () => json({ code: ['The code is not valid.'] }, 400);
    expect(await session.verifySecondFactor('mfa.jwt', { code: '000000' })).toEqual({
      fields: { code: ['The code is not valid.'] },
      message: null,
    });
    expect(session.session.token).toBeNull();
  });

  it("verifies with a passkey: the mfa_token's request options, the prompt, then its answer", async () => {
    const session = await import('../session');
    const options = { challenge: 'ch', allowCredentials: [] };
    webauthn.startAuthentication.mockResolvedValue(assertion);
    handler = (request) =>
      pathOf(request) === '/auth/mfa/webauthn/options/' ? json(options) : json({ token: token('first') });
    expect(await session.verifySecondFactorWithPasskey('mfa.jwt')).toBeNull();
    expect(requests.map(pathOf)).toEqual(['/auth/mfa/webauthn/options/', '/auth/mfa/verify/']);
    expect(await requests[0]!.json()).toEqual({ mfa_token: 'mfa.jwt' });
    expect(webauthn.startAuthentication).toHaveBeenCalledWith({ optionsJSON: options });
    expect(await requests[1]!.json()).toEqual({ mfa_token: 'mfa.jwt', webauthn: assertion });
    expect(session.session.user?.username).toBe('first');
  });

  it('says so when the passkey prompt is cancelled, and sends nothing more', async () => {
    const session = await import('../session');
    webauthn.startAuthentication.mockRejectedValue(Object.assign(new Error('cancelled'), { name: 'NotAllowedError' }));
    handler = () => json({ challenge: 'ch' });
    expect(await session.verifySecondFactorWithPasskey('mfa.jwt')).toEqual({
      fields: {},
      message: 'No passkey was used. Try again, or use another way.',
    });
    expect(requests.map(pathOf)).toEqual(['/auth/mfa/webauthn/options/']);
  });
});

describe('the passkey login', () => {
  it('logs in without a username: options, the prompt, then the answer with its challenge_token and the cookie', async () => {
    const session = await import('../session');
    const options = { challenge: 'ch', userVerification: 'required' };
    webauthn.startAuthentication.mockResolvedValue(assertion);
    handler = (request) =>
      pathOf(request) === '/auth/passkey/options/'
        ? json({ options, challenge_token: 'ch' })
        : json({ token: token('first') });
    expect(await session.logInWithPasskey()).toBeNull();
    expect(requests.map(pathOf)).toEqual(['/auth/passkey/options/', '/auth/passkey/']);
    expect(await requests[0]!.text()).toBe('');
    expect(webauthn.startAuthentication).toHaveBeenCalledWith({ optionsJSON: options });
    expect(requests[1]!.credentials).toBe('include');
    expect(await requests[1]!.json()).toEqual({ challenge_token: 'ch', response: assertion });
    expect(session.session.user?.username).toBe('first');
  });

  it('answers the API problem of a passkey it does not know', async () => {
    const session = await import('../session');
    webauthn.startAuthentication.mockResolvedValue(assertion);
    handler = (request) =>
      pathOf(request) === '/auth/passkey/options/'
        ? json({ options: { challenge: 'ch' }, challenge_token: 'ch' })
        : json({ non_field_errors: ['The passkey could not be verified. Try again.'] }, 400);
    expect(await session.logInWithPasskey()).toEqual({
      fields: {},
      message: 'The passkey could not be verified. Try again.',
    });
    expect(session.session.user).toBeNull();
  });
});

describe('re-authentication', () => {
  it('uses the fresh token POST /auth/reauth/ answers', async () => {
    const { session } = await loggedIn();
    const { reauthenticate } = await import('../reauth');
    const fresh = token('first', 600);
    handler = () => json({ token: fresh });
    const before = session.session.token;
    expect(await reauthenticate({ password: 'pw' })).toBeNull();
    expect(requests.map(pathOf)).toEqual(['/auth/reauth/']);
    expect(requests[0]!.headers.get('Authorization')).toBe(`Bearer ${before}`);
    expect(await requests[0]!.json()).toEqual({ password: 'pw' });
    expect(session.session.token).toBe(fresh);
  });

  it('with a passkey: request options for the logged-in user (empty body), then the answer', async () => {
    await loggedIn();
    const { reauthenticateWithPasskey } = await import('../reauth');
    webauthn.startAuthentication.mockResolvedValue(assertion);
    handler = (request) =>
      pathOf(request) === '/auth/mfa/webauthn/options/' ? json({ challenge: 'ch' }) : json({ token: token('first') });
    expect(await reauthenticateWithPasskey()).toBeNull();
    expect(requests.map(pathOf)).toEqual(['/auth/mfa/webauthn/options/', '/auth/reauth/']);
    expect(await requests[0]!.json()).toEqual({});
    expect(await requests[1]!.json()).toEqual({ webauthn: assertion });
  });
});
