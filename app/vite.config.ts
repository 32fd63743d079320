/**
 * The app under /app/. `npm start` builds it into app/dist, which the Worker serves ([assets] in
 * wrangler.toml); `npm run dev:app` serves it with hot reload and passes API calls to the Worker
 * that `npm start` runs (API_PROXY, default http://localhost:8787). VITE_API_URL, at build time,
 * points a build hosted on another origin at the API.
 */
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

const API_PATHS = ['/auth', '/api-', '/tasks', '/users', '/openapi.json', '/.well-known'];
const api = process.env.API_PROXY ?? 'http://localhost:8787';

export default defineConfig({
  root: import.meta.dirname,
  base: '/app/',
  plugins: [vue()],
  build: { outDir: 'dist', emptyOutDir: true },
  server: {
    // The API sees the page as its own origin, so its session routes' Origin check passes.
    proxy: Object.fromEntries(API_PATHS.map((path) => [path, { target: api, headers: { Origin: api } }])),
  },
});
