/** Pages against a fake network: what the API answers is what the page shows. */
import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';

let answer: (request: Request) => Response;

beforeEach(() => {
  vi.stubGlobal(
    'fetch',
    vi.fn(async (request: Request) => answer(request)),
  );
});

afterEach(() => {
  vi.unstubAllGlobals();
});

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

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
