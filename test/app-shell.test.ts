/**
 * A GET under /app/ that is not a browser's navigation (curl, a link-preview bot) reaches the
 * Worker: it answers the app's index.html from the ASSETS binding, with the security headers,
 * never the API's JSON 404. The tests' global setup builds app/dist when it is missing (test/build-app.ts).
 */
import { describe, expect, it } from 'vitest';
import { call } from './helpers';

describe('the app under /app/ for every client', () => {
  for (const path of ['/app/', '/app/tasks/5', '/app/tasks/5/', '/app/login?next=%2Fapp%2Ftasks']) {
    it(`GET ${path} without navigation headers answers the app's index.html`, async () => {
      const response = await call(path, { headers: { Accept: '*/*' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('Content-Type')).toMatch(/^text\/html/);
      const html = await response.text();
      expect(html).toContain('<div id="app"></div>');
      expect(response.headers.get('Content-Security-Policy')).toContain("script-src 'self'");
      expect(response.headers.get('X-Frame-Options')).toBe('DENY');
      expect(response.headers.get('X-Content-Type-Options')).toBe('nosniff');
    });
  }

  it('answers HEAD with the headers and no body', async () => {
    const response = await call('/app/tasks/5', { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(await response.text()).toBe('');
  });

  it('leaves the API paths alone: an unknown task is still the JSON 404', async () => {
    const response = await call('/tasks/999999999/');
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ detail: 'Not found.' });
    const outside = await call('/apps/tasks/5');
    expect(outside.status).toBe(404);
    expect(await outside.json()).toEqual({ detail: 'Not found.' });
  });
});
