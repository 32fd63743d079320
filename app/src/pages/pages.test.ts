/** Pages against a fake network: what the API answers is what the page shows. */
import { flushPromises, mount, type DOMWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';
import { assertion, json, token } from '../test-support';

/** The browser's passkey prompts, answered by each test. */
const webauthn = vi.hoisted(() => ({ startAuthentication: vi.fn(), startRegistration: vi.fn() }));
vi.mock('@simplewebauthn/browser', () => webauthn);

let answer: (request: Request) => Response | Promise<Response>;

beforeEach(() => {
  vi.stubGlobal(
    'fetch',
    vi.fn(async (request: Request) => answer(request)),
  );
});

afterEach(() => {
  vi.unstubAllGlobals();
});

async function mountPage(path: string, component: unknown) {
  const router = createRouter({
    history: createMemoryHistory('/app/'),
    routes: [
      { path, component: component as never },
      { path: '/:rest(.*)*', component: { template: '<p>elsewhere</p>' } },
    ],
  });
  await router.push(path);
  const wrapper = mount(component as never, { global: { plugins: [router] }, attachTo: document.body });
  return { wrapper, router };
}

describe('RegisterPage', () => {
  it("shows the API's field errors next to their fields, and its other errors in an alert", async () => {
    const { default: RegisterPage } = await import('./RegisterPage.vue');
    answer = () =>
      json(
        { username: ['A user with that username already exists.'], password: ['This password is too common.'] },
        400,
      );
    const { wrapper } = await mountPage('/register', RegisterPage);
    await wrapper.get('form').trigger('submit');
    await flushPromises();
    const fields = wrapper.findAll('.field');
    const byLabel = (label: string) => fields.find((field) => field.get('label').text() === label)!;
    expect(byLabel('Username').text()).toContain('A user with that username already exists.');
    expect(byLabel('Password').text()).toContain('This password is too common.');
    expect(byLabel('Email').find('.field-errors').exists()).toBe(false);
    expect(wrapper.find('[role="alert"]').exists()).toBe(false);

    answer = () => json({ detail: 'Registration is closed.' }, 403);
    await wrapper.get('form').trigger('submit');
    await flushPromises();
    expect(wrapper.get('[role="alert"]').text()).toBe('Registration is closed.');
  });

  it('links to the confirm page of the activation link the API answered', async () => {
    const { default: RegisterPage } = await import('./RegisterPage.vue');
    answer = () => json({ confirmation_url: 'http://localhost:8787/api-activate/eyJ.a.b/' }, 201);
    const { wrapper } = await mountPage('/register', RegisterPage);
    await wrapper.get('form').trigger('submit');
    await flushPromises();
    expect(wrapper.get('a').attributes('href')).toBe('/app/activate/eyJ.a.b');
  });
});

describe('the pages of mailed links', () => {
  it('send nothing until the button; then show what the link did, or why it did not', async () => {
    const { default: EmailConfirmPage } = await import('./EmailConfirmPage.vue');
    const sent: { path: string; body: unknown }[] = [];
    answer = async (request) => {
      sent.push({ path: new URL(request.url).pathname, body: await request.json() });
      return sent.length === 1
        ? json({ token: ['The email change link was invalid, possibly because it has already been used.'] }, 400)
        : json({ detail: 'Your email address is confirmed.' });
    };
    const wrapper = mount(EmailConfirmPage, { props: { token: 'eyJ.a.b' }, global: { stubs: ['RouterLink'] } });
    await flushPromises();
    expect(sent).toEqual([]);
    await wrapper.get('button').trigger('click');
    await flushPromises();
    expect(sent).toEqual([{ path: '/auth/email/confirm/', body: { token: 'eyJ.a.b' } }]);
    expect(wrapper.get('[role="alert"]').text()).toContain('already been used');
    await wrapper.get('button').trigger('click');
    await flushPromises();
    expect(wrapper.get('[role="status"]').text()).toContain('Your email address is confirmed.');
  });
  it("say the page's own words when a refusal's body says nothing", async () => {
    const { default: ActivatePage } = await import('./ActivatePage.vue');
    answer = () => json({}, 400);
    const wrapper = mount(ActivatePage, { props: { token: 'eyJ.a.b' }, global: { stubs: ['RouterLink'] } });
    await wrapper.get('button').trigger('click');
    await flushPromises();
    expect(wrapper.get('[role="alert"]').text()).toBe('This activation link is not valid.');
  });
});

describe('LoginPage', () => {
  it('shows a refused login in an alert and stays', async () => {
    const { default: LoginPage } = await import('./LoginPage.vue');
    answer = () => json({ non_field_errors: ['Unable to log in with provided credentials.'] }, 400);
    const { wrapper, router } = await mountPage('/login', LoginPage);
    await wrapper.get('form').trigger('submit');
    await flushPromises();
    expect(wrapper.get('[role="alert"]').text()).toBe('Unable to log in with provided credentials.');
    expect(router.currentRoute.value.path).toBe('/login');
  });
});

/**
 * A fake API answering by `METHOD /path/`; answers what was asked, in order, with the bodies sent.
 * The login and register pages' list of providers is none unless a test answers it, and not listed.
 */
function fakeApi(routes: Record<string, (request: Request) => Response>) {
  const asked: { route: string; body: unknown; authorization: string | null }[] = [];
  answer = async (request) => {
    const route = `${request.method} ${new URL(request.url).pathname}`;
    if (route === 'GET /auth/external/' && !routes[route]) return json([]);
    const text = await request.clone().text();
    asked.push({
      route,
      body: text ? JSON.parse(text) : undefined,
      authorization: request.headers.get('Authorization'),
    });
    return routes[route]?.(request) ?? json({ detail: 'Not found.' }, 404);
  };
  return asked;
}

/** A page, or a part of it. */
type Wrapper = Pick<DOMWrapper<Element>, 'findAll'>;
const buttons = (wrapper: Wrapper) => wrapper.findAll('button').map((button) => button.text());
const button = (wrapper: Wrapper, name: string) => wrapper.findAll('button').find((each) => each.text() === name)!;
const field = (wrapper: Wrapper, label: string) =>
  wrapper
    .findAll('.field')
    .find((each) => each.get('label').text() === label)!
    .get('input');

describe('LoginPage, for a user with a second factor', () => {
  it('asks for a code after the password, verifies it with the mfa_token, and goes on', async () => {
    const { default: LoginPage } = await import('./LoginPage.vue');
    const asked = fakeApi({
      'POST /auth/session/': () =>
        json({ mfa_required: true, mfa_token: 'mfa.jwt', methods: ['totp', 'recovery_code'] }),
      'POST /auth/mfa/verify/': () => json({ token: token('second') }),
    });
    const { wrapper, router } = await mountPage('/login?next=/profile', LoginPage);
    await field(wrapper, 'Username').setValue('second');
    await field(wrapper, 'Password').setValue('pw');
    await wrapper.get('form').trigger('submit');
    await flushPromises();
    expect(wrapper.findAll('label').map((label) => label.text())).toEqual(['Code']);
    expect(buttons(wrapper)).toContain('Verify');
    expect(buttons(wrapper)).not.toContain('Use a passkey');
    expect(document.activeElement).toBe(field(wrapper, 'Code').element);

    await field(wrapper, 'Code').setValue('123456');
    await wrapper.get('form').trigger('submit');
    await flushPromises();
    expect(asked.map(({ route }) => route)).toEqual(['POST /auth/session/', 'POST /auth/mfa/verify/']);
    expect(asked[1]!.body).toEqual({ mfa_token: 'mfa.jwt', code: '123456' });
    expect(router.currentRoute.value.path).toBe('/profile');
  });

  it('shows a wrong code in an alert and stays at the second step', async () => {
    const { default: LoginPage } = await import('./LoginPage.vue');
    fakeApi({
      'POST /auth/session/': () =>
        json({ mfa_required: true, mfa_token: 'mfa.jwt', methods: ['totp', 'recovery_code'] }),
      'POST /auth/mfa/verify/': () => json({ code: ['The code is not valid.'] }, 400),
    });
    const { wrapper, router } = await mountPage('/login', LoginPage);
    await wrapper.get('form').trigger('submit');
    await flushPromises();
    await wrapper.get('form').trigger('submit');
    await flushPromises();
    expect(wrapper.get('[role="alert"]').text()).toBe('The code is not valid.');
    expect(buttons(wrapper)).toContain('Verify');
    expect(router.currentRoute.value.path).toBe('/login');
  });

  it('offers "Use a passkey" when the user has one, and verifies with its answer', async () => {
    const { default: LoginPage } = await import('./LoginPage.vue');
    webauthn.startAuthentication.mockResolvedValueOnce(assertion);
    const asked = fakeApi({
      'POST /auth/session/': () =>
        json({ mfa_required: true, mfa_token: 'mfa.jwt', methods: ['totp', 'recovery_code', 'webauthn'] }),
      'POST /auth/mfa/webauthn/options/': () => json({ challenge: 'ch' }),
      'POST /auth/mfa/verify/': () => json({ token: token('second') }),
    });
    const { wrapper, router } = await mountPage('/login', LoginPage);
    await wrapper.get('form').trigger('submit');
    await flushPromises();
    await button(wrapper, 'Use a passkey').trigger('click');
    await flushPromises();
    expect(asked.map(({ route }) => route)).toEqual([
      'POST /auth/session/',
      'POST /auth/mfa/webauthn/options/',
      'POST /auth/mfa/verify/',
    ]);
    expect(asked[2]!.body).toEqual({ mfa_token: 'mfa.jwt', webauthn: assertion });
    expect(router.currentRoute.value.path).toBe('/tasks');
  });

  it('signs in with a passkey alone, no username typed', async () => {
    const { default: LoginPage } = await import('./LoginPage.vue');
    webauthn.startAuthentication.mockResolvedValueOnce(assertion);
    const asked = fakeApi({
      'POST /auth/passkey/options/': () => json({ options: { challenge: 'ch' }, challenge_token: 'ch' }),
      'POST /auth/passkey/': () => json({ token: token('second') }),
    });
    const { wrapper, router } = await mountPage('/login', LoginPage);
    await button(wrapper, 'Sign in with a passkey').trigger('click');
    await flushPromises();
    expect(asked.map(({ route }) => route)).toEqual(['POST /auth/passkey/options/', 'POST /auth/passkey/']);
    expect(router.currentRoute.value.path).toBe('/tasks');
  });
});

describe('SecurityPage', () => {
  const enrolment = {
    secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
    otpauth_url: 'otpauth://totp/Tasks:second?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Tasks',
  };
  const codes = Array.from({ length: 10 }, (_, index) => `code-${index}`);

  it('enrols an authenticator app: its QR code drawn here, the secret, a first code, then the recovery codes once', async () => {
    const { default: SecurityPage } = await import('./SecurityPage.vue');
    let totp = false;
    const asked = fakeApi({
      'GET /auth/mfa/': () => json({ totp, passkeys: 0, recovery_codes_left: totp ? 10 : 0 }),
      'GET /auth/passkeys/': () => json([]),
      'POST /auth/mfa/totp/': () => json(enrolment),
      'POST /auth/mfa/totp/confirm/': () => {
        totp = true;
        return json({ recovery_codes: codes });
      },
    });
    const { wrapper } = await mountPage('/security', SecurityPage);
    await flushPromises();
    expect(wrapper.text()).toContain('No passkeys yet.');
    await button(wrapper, 'Enable authenticator app').trigger('click');
    await flushPromises();
    const qr = wrapper.get('svg[role="img"]');
    expect(qr.attributes('aria-label')).toBe('QR code for your authenticator app');
    expect(qr.get('path').attributes('d')).toMatch(/^M\d+ \d+h1v1h-1z/);
    expect(wrapper.find('img').exists()).toBe(false);
    expect(wrapper.get('.secret').text()).toBe(enrolment.secret);

    await field(wrapper, 'Code').setValue('123456');
    await wrapper.get('form').trigger('submit');
    await flushPromises();
    expect(asked.find(({ route }) => route === 'POST /auth/mfa/totp/confirm/')!.body).toEqual({ code: '123456' });
    expect(
      wrapper
        .get('[aria-label="Recovery codes"]')
        .findAll('li')
        .map((item) => item.text()),
    ).toEqual(codes);
    expect(wrapper.get('.recovery-codes').text()).toContain('not shown again');
    expect(wrapper.find('svg').exists()).toBe(false);
    expect(buttons(wrapper)).toEqual(expect.arrayContaining(['New recovery codes', 'Remove authenticator app']));
    expect(wrapper.text()).toContain('Recovery codes left: 10.');
  });

  it('asks "Confirm it\'s you" when a change needs a recent login, then retries it once with the fresh token', async () => {
    const { default: SecurityPage } = await import('./SecurityPage.vue');
    const fresh = token('second');
    let reauthenticated = false;
    const asked = fakeApi({
      'GET /auth/mfa/': () => json({ totp: false, passkeys: 0, recovery_codes_left: 0 }),
      'GET /auth/passkeys/': () => json([]),
      'POST /auth/mfa/totp/': () =>
        reauthenticated
          ? json(enrolment)
          : json({ detail: 'This change needs a recent login.', code: 'reauth_required' }, 403),
      'POST /auth/reauth/': () => {
        reauthenticated = true;
        return json({ token: fresh });
      },
    });
    const { wrapper } = await mountPage('/security', SecurityPage);
    await flushPromises();
    await button(wrapper, 'Enable authenticator app').trigger('click');
    await flushPromises();
    const dialog = wrapper.get('dialog');
    expect(dialog.get('h2').text()).toBe("Confirm it's you");
    expect(dialog.findAll('label').map((label) => label.text())).toEqual(['Password']);
    expect(dialog.findAll('button').map((each) => each.text())).toEqual(['Confirm', 'Cancel']);

    await dialog.get('input').setValue('pw');
    await dialog.get('form').trigger('submit');
    await flushPromises();
    expect(asked.map(({ route }) => route).filter((route) => route.startsWith('POST'))).toEqual([
      'POST /auth/mfa/totp/',
      'POST /auth/reauth/',
      'POST /auth/mfa/totp/',
    ]);
    expect(asked.find(({ route }) => route === 'POST /auth/reauth/')!.body).toEqual({ password: 'pw' });
    expect(asked.at(-1)!.authorization).toBe(`Bearer ${fresh}`);
    expect(wrapper.find('dialog').exists()).toBe(false);
    expect(wrapper.find('svg[role="img"]').exists()).toBe(true);
  });

  it('offers a code and a passkey in the prompt to users who have them', async () => {
    const { default: SecurityPage } = await import('./SecurityPage.vue');
    fakeApi({
      'GET /auth/mfa/': () => json({ totp: true, passkeys: 1, recovery_codes_left: 10 }),
      'GET /auth/passkeys/': () => json([]),
      'POST /auth/mfa/recovery-codes/': () =>
        json({ detail: 'This change needs a recent login.', code: 'reauth_required' }, 403),
    });
    const { wrapper } = await mountPage('/security', SecurityPage);
    await flushPromises();
    await button(wrapper, 'New recovery codes').trigger('click');
    await flushPromises();
    const dialog = wrapper.get('dialog');
    expect(dialog.findAll('label').map((label) => label.text())).toEqual(['Password', 'Code']);
    expect(dialog.findAll('button').map((each) => each.text())).toEqual([
      'Confirm',
      'Verify',
      'Use a passkey',
      'Cancel',
    ]);
  });

  it('retries only once: a second reauth_required is shown, not asked again', async () => {
    const { default: SecurityPage } = await import('./SecurityPage.vue');
    const asked = fakeApi({
      'GET /auth/mfa/': () => json({ totp: false, passkeys: 0, recovery_codes_left: 0 }),
      'GET /auth/passkeys/': () => json([]),
      'POST /auth/mfa/totp/': () => json({ detail: 'This change needs a recent login.', code: 'reauth_required' }, 403),
      'POST /auth/reauth/': () => json({ token: token('second') }),
    });
    const { wrapper } = await mountPage('/security', SecurityPage);
    await flushPromises();
    await button(wrapper, 'Enable authenticator app').trigger('click');
    await flushPromises();
    await wrapper.get('dialog input').setValue('pw');
    await wrapper.get('dialog form').trigger('submit');
    await flushPromises();
    expect(asked.filter(({ route }) => route === 'POST /auth/mfa/totp/')).toHaveLength(2);
    expect(wrapper.find('dialog').exists()).toBe(false);
    expect(wrapper.get('[role="alert"]').text()).toBe('This change needs a recent login.');
  });

  it('lists the passkeys, and adds, renames and removes them', async () => {
    const { default: SecurityPage } = await import('./SecurityPage.vue');
    const passkey = (id: number, name: string) => ({
      id,
      name,
      created: '2030-01-01T09:00:00.000Z',
      last_used: null,
      device_type: 'multiDevice',
      backed_up: true,
    });
    let passkeys = [passkey(1, 'Laptop')];
    const registration = { id: 'new', rawId: 'new', type: 'public-key', clientExtensionResults: {}, response: {} };
    webauthn.startRegistration.mockResolvedValueOnce(registration);
    const asked = fakeApi({
      'GET /auth/mfa/': () => json({ totp: false, passkeys: passkeys.length, recovery_codes_left: 0 }),
      'GET /auth/passkeys/': () => json(passkeys),
      'POST /auth/passkeys/options/': () => json({ challenge: 'ch', rp: { id: 'localhost', name: 'Tasks' } }),
      'POST /auth/passkeys/': () => {
        passkeys = [...passkeys, passkey(2, 'Passkey 2')];
        return json({ id: 2, name: 'Passkey 2', created: '2030-01-01T10:00:00.000Z' }, 201);
      },
      'PATCH /auth/passkeys/2/': () => json(passkey(2, 'Phone')),
      'DELETE /auth/passkeys/1/': () => new Response(null, { status: 204 }),
    });
    const { wrapper } = await mountPage('/security', SecurityPage);
    await flushPromises();
    const row = (name: string) => wrapper.find(`li[aria-label="${name}"]`);
    expect(row('Laptop').text()).toContain('not used yet');

    await button(wrapper, 'Add passkey').trigger('click');
    await flushPromises();
    expect(webauthn.startRegistration).toHaveBeenCalledWith({
      optionsJSON: { challenge: 'ch', rp: { id: 'localhost', name: 'Tasks' } },
    });
    expect(asked.find(({ route }) => route === 'POST /auth/passkeys/')!.body).toEqual({ response: registration });
    expect(wrapper.get('[role="status"]').text()).toBe('Passkey added.');
    expect(row('Passkey 2').exists()).toBe(true);

    await button(row('Passkey 2'), 'Rename').trigger('click');
    await field(row('Passkey 2'), 'Name').setValue('Phone');
    await row('Passkey 2').get('form').trigger('submit');
    await flushPromises();
    expect(asked.find(({ route }) => route === 'PATCH /auth/passkeys/2/')!.body).toEqual({ name: 'Phone' });
    expect(row('Phone').exists()).toBe(true);

    await button(row('Laptop'), 'Remove').trigger('click');
    await flushPromises();
    expect(row('Laptop').exists()).toBe(false);
    expect(wrapper.findAll('.item-list li').map((item) => item.attributes('aria-label'))).toEqual(['Phone']);
  });
});

describe('TaskList', () => {
  it('says when there are no tasks, and lists them when there are', async () => {
    const { default: TaskList } = await import('./TaskList.vue');
    answer = () => json({ count: 0, next: null, previous: null, results: [] });
    const empty = await mountPage('/tasks', TaskList);
    await flushPromises();
    expect(empty.wrapper.text()).toContain('No tasks yet.');

    const task = { id: 5, url: 'u', title: 'Write the tests', person: 1, due_to: '2030-01-01T09:00:00.000000Z' };
    answer = () => json({ count: 1, next: null, previous: null, results: [task] });
    const full = await mountPage('/tasks', TaskList);
    await flushPromises();
    expect(full.wrapper.get('.tasks a').text()).toBe('Write the tests');
    expect(full.wrapper.get('.tasks a').attributes('href')).toBe('/app/tasks/5');
  });
});

describe('TaskList, when answers arrive out of order', () => {
  it('shows the newest request, not a slower older one', async () => {
    const { default: TaskList } = await import('./TaskList.vue');
    const task = (title: string) => ({ id: 1, url: 'u', title, person: 1, due_to: '2030-01-01T09:00:00.000000Z' });
    answer = () => json({ count: 0, next: null, previous: null, results: [] });
    const { wrapper, router } = await mountPage('/tasks', TaskList);
    await flushPromises();
    let releaseSlow = () => {};
    const slow = new Promise<void>((resolve) => (releaseSlow = resolve));
    vi.stubGlobal(
      'fetch',
      vi.fn(async (request: Request) => {
        const ordering = new URL(request.url).searchParams.get('ordering');
        if (ordering === 'title') {
          await slow;
          return json({ count: 1, next: null, previous: null, results: [task('by title (old request)')] });
        }
        return json({ count: 1, next: null, previous: null, results: [task('by due date (new request)')] });
      }),
    );
    await router.push('/tasks?ordering=title');
    await router.push('/tasks?ordering=-due_to');
    await flushPromises();
    releaseSlow();
    await flushPromises();
    expect(wrapper.get('.tasks a').text()).toBe('by due date (new request)');
  });
});

describe('TaskDetail, when moving quickly from one task to another', () => {
  it('shows the task asked for last', async () => {
    const { default: TaskDetail } = await import('./TaskDetail.vue');
    let releaseFirst = () => {};
    const first = new Promise<void>((resolve) => (releaseFirst = resolve));
    answer = () => json({});
    vi.stubGlobal(
      'fetch',
      vi.fn(async (request: Request) => {
        const path = new URL(request.url).pathname;
        if (path.startsWith('/users/')) return json({ id: 1, url: 'u', username: 'owner', tasks: [] });
        const id = Number(path.split('/')[2]);
        if (id === 1) await first;
        return json({ id, url: 'u', title: `task ${id}`, person: 1, due_to: '2030-01-01T09:00:00.000000Z' });
      }),
    );
    const router = createRouter({
      history: createMemoryHistory('/app/'),
      routes: [{ path: '/tasks/:id', component: TaskDetail, props: true }],
    });
    await router.push('/tasks/1');
    const wrapper = mount({ template: '<RouterView />' }, { global: { plugins: [router] } });
    await router.push('/tasks/2');
    await flushPromises();
    releaseFirst();
    await flushPromises();
    expect(wrapper.get('h1').text()).toBe('task 2');
  });
});

describe('AuthorizePage', () => {
  const client = { client_id: 'c1', name: 'Reports' };
  const request = 'signed.request.jwt';

  it('shows what the app asks for in words, and on Allow sends the decision and goes back to the app', async () => {
    const { default: AuthorizePage } = await import('./AuthorizePage.vue');
    const assign = vi.spyOn(window.location, 'assign').mockImplementation(() => undefined);
    const asked = fakeApi({
      // The first question, then the answer to Allow.
      'POST /oauth/authorize/': () =>
        asked.length === 1
          ? json({ action: 'consent', client, scopes: [{ scope: 'tasks.read', description: 'Read your tasks' }] })
          : json({ action: 'redirect', client, redirect_to: 'https://reports.example/cb?code=x&state=s' }),
    });
    const { wrapper } = await mountPage(`/authorize?request=${request}`, AuthorizePage);
    await flushPromises();
    expect(wrapper.text()).toContain('Reports asks to:');
    expect(wrapper.get('[aria-label="What the app asks for"]').text()).toBe('Read your tasks');
    await button(wrapper, 'Allow').trigger('click');
    await flushPromises();
    expect(asked.map(({ body }) => body)).toEqual([{ request }, { request, decision: 'allow' }]);
    expect(assign).toHaveBeenCalledWith('https://reports.example/cb?code=x&state=s');
    assign.mockRestore();
  });

  it('sends the user to log in first, and back here after', async () => {
    const { default: AuthorizePage } = await import('./AuthorizePage.vue');
    fakeApi({ 'POST /oauth/authorize/': () => json({ action: 'login', client }) });
    const { router } = await mountPage(`/authorize?request=${request}`, AuthorizePage);
    await flushPromises();
    expect(router.currentRoute.value.path).toBe('/login');
    expect(router.currentRoute.value.query.next).toBe(`/authorize?request=${request}`);
  });

  it('explains an unknown app or return address, and asks the API nothing', async () => {
    const { default: AuthorizePage } = await import('./AuthorizePage.vue');
    const asked = fakeApi({});
    const { wrapper } = await mountPage('/authorize?error=invalid_redirect_uri', AuthorizePage);
    await flushPromises();
    expect(wrapper.get('[role="alert"]').text()).toBe(
      "The app's sign-in link is not valid: its return address is not registered.",
    );
    expect(asked).toEqual([]);
  });
});

describe('LoginPage, with other providers', () => {
  it('shows a button for each provider, which goes to its start URL', async () => {
    const { default: LoginPage } = await import('./LoginPage.vue');
    const assign = vi.spyOn(window.location, 'assign').mockImplementation(() => undefined);
    fakeApi({
      'GET /auth/external/': () =>
        json([{ id: 'google', name: 'Google', start_url: 'http://localhost:8787/auth/external/google/' }]),
    });
    const { wrapper } = await mountPage('/login', LoginPage);
    await flushPromises();
    await button(wrapper, 'Sign in with Google').trigger('click');
    expect(assign).toHaveBeenCalledWith('http://localhost:8787/auth/external/google/');
    assign.mockRestore();
  });

  it("says why a provider's sign-in failed", async () => {
    const { default: LoginPage } = await import('./LoginPage.vue');
    fakeApi({});
    const { wrapper } = await mountPage('/login?external_error=registration_closed', LoginPage);
    await flushPromises();
    expect(wrapper.get('[role="alert"]').text()).toBe(
      'No account is linked to that login, and registration is closed.',
    );
  });

  it("continues with the second factor the provider's callback asks for", async () => {
    const { default: LoginPage } = await import('./LoginPage.vue');
    const asked = fakeApi({ 'POST /auth/mfa/verify/': () => json({ token: token('federated') }) });
    window.location.hash = '#mfa_token=mfa.jwt&methods=totp+recovery_code';
    const { wrapper, router } = await mountPage('/login', LoginPage);
    await flushPromises();
    expect(window.location.hash).toBe('');
    await field(wrapper, 'Code').setValue('123456');
    await wrapper.get('form').trigger('submit');
    await flushPromises();
    expect(asked).toEqual([
      { route: 'POST /auth/mfa/verify/', body: { mfa_token: 'mfa.jwt', code: '123456' }, authorization: null },
    ]);
    expect(router.currentRoute.value.path).toBe('/tasks');
  });
});
