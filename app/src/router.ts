import { nextTick } from 'vue';
import { createRouter, createWebHistory, type RouteLocationNormalized } from 'vue-router';
import { refresh, session } from './session';
import TaskList from './pages/TaskList.vue';

/** Pages other than the first are loaded when first visited, which keeps the first page small. */
export const router = createRouter({
  history: createWebHistory('/app/'),
  routes: [
    { path: '/', redirect: '/tasks' },
    { path: '/tasks', component: TaskList, meta: { title: 'Tasks' } },
    {
      path: '/tasks/:id(\\d+)',
      component: () => import('./pages/TaskDetail.vue'),
      props: true,
      meta: { title: 'Task' },
    },
    { path: '/login', component: () => import('./pages/LoginPage.vue'), meta: { title: 'Log in' } },
    { path: '/register', component: () => import('./pages/RegisterPage.vue'), meta: { title: 'Register' } },
    {
      path: '/activate/:token',
      component: () => import('./pages/ActivatePage.vue'),
      props: true,
      meta: { title: 'Activate your account' },
    },
    {
      path: '/resend',
      component: () => import('./pages/MailLinkPage.vue'),
      props: { purpose: 'activation' },
      meta: { title: 'A new activation link' },
    },
    {
      path: '/password-reset',
      component: () => import('./pages/MailLinkPage.vue'),
      props: { purpose: 'password-reset' },
      meta: { title: 'Reset your password' },
    },
    {
      path: '/password-reset/:token',
      component: () => import('./pages/ResetConfirmPage.vue'),
      props: true,
      meta: { title: 'Choose a new password' },
    },
    {
      path: '/email/confirm/:token',
      component: () => import('./pages/EmailConfirmPage.vue'),
      props: true,
      meta: { title: 'Confirm your email address' },
    },
    {
      path: '/profile',
      component: () => import('./pages/ProfilePage.vue'),
      meta: { title: 'Profile', login: true },
    },
    {
      path: '/security',
      component: () => import('./pages/SecurityPage.vue'),
      meta: { title: 'Security', login: true },
    },
    {
      path: '/authorize',
      component: () => import('./pages/AuthorizePage.vue'),
      meta: { title: 'Sign in to another app' },
    },
    { path: '/logout', component: () => import('./pages/LogoutPage.vue'), meta: { title: 'Log out' } },
    {
      path: '/users',
      component: () => import('./pages/UsersPage.vue'),
      meta: { title: 'Users', login: true, staff: true },
    },
    {
      path: '/audit',
      component: () => import('./pages/AuditPage.vue'),
      meta: { title: 'Audit log', login: true, staff: true },
    },
    { path: '/:rest(.*)*', component: () => import('./pages/NotFound.vue'), meta: { title: 'Page not found' } },
  ],
});

let restored: Promise<boolean> | null = null;

/** Before the first page: restore the session from the cookie (a reload keeps the user logged in). */
router.beforeEach(async (to: RouteLocationNormalized) => {
  restored ??= refresh();
  await restored;
  if (to.meta.login && !session.user) return { path: '/login', query: { next: to.fullPath } };
  if (to.meta.staff && !session.user?.isStaff) return '/tasks';
  return true;
});

/**
 * Each page names itself in the window title, and after a navigation focus moves to its heading,
 * so that a screen reader announces the new page.
 */
router.afterEach(async (to, from) => {
  document.title = `${typeof to.meta.title === 'string' ? to.meta.title : 'Tasks'} · Tasks`;
  if (from.matched.length === 0 || to.path === from.path) return;
  await nextTick();
  const heading = document.querySelector<HTMLElement>('main h1');
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
});
