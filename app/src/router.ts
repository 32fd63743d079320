import { createRouter, createWebHistory, type RouteLocationNormalized } from 'vue-router';
import { refresh, session } from './session';
import TaskList from './pages/TaskList.vue';

/** Pages other than the first are loaded when first visited, which keeps the first page small. */
export const router = createRouter({
  history: createWebHistory('/app/'),
  routes: [
    { path: '/', redirect: '/tasks' },
    { path: '/tasks', component: TaskList },
    { path: '/tasks/:id(\\d+)', component: () => import('./pages/TaskDetail.vue'), props: true },
    { path: '/login', component: () => import('./pages/LoginPage.vue') },
    { path: '/register', component: () => import('./pages/RegisterPage.vue') },
    { path: '/activate/:token', component: () => import('./pages/ActivatePage.vue'), props: true },
    { path: '/resend', component: () => import('./pages/ResendPage.vue') },
    { path: '/password-reset', component: () => import('./pages/ResetRequestPage.vue') },
    { path: '/password-reset/:token', component: () => import('./pages/ResetConfirmPage.vue'), props: true },
    { path: '/profile', component: () => import('./pages/ProfilePage.vue'), meta: { login: true } },
    { path: '/users', component: () => import('./pages/UsersPage.vue'), meta: { login: true, staff: true } },
    { path: '/:rest(.*)*', component: () => import('./pages/NotFound.vue') },
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
