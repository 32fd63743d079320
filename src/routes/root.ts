import { defineRoute } from '../http/route';

/** The API root (DRF's DefaultRouter view): absolute links to what the API serves. */
export const rootRoutes = [
  defineRoute({
    method: 'get',
    path: '/',
    tag: 'api',
    summary: 'Links to the resources and the docs',
    auth: 'optional',
    responses: { 200: 'ApiRoot' },
    handler: (c) => {
      const base = c.get('settings').siteUrl;
      return c.json({
        tasks: `${base}/tasks/`,
        users: `${base}/users/`,
        register: `${base}/api-register/`,
        activate: `${base}/api-activate/`,
        obtain_token: `${base}/auth/obtain_token/`,
        refresh_token: `${base}/auth/refresh_token/`,
        verify_token: `${base}/auth/verify_token/`,
        app: `${base}/app/`,
        docs: `${base}/docs`,
        openapi: `${base}/openapi.json`,
      });
    },
  }),
];
