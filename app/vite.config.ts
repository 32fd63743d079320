/**
 * The app under /app/. `npm start` builds it into app/dist, which the Worker serves ([assets] in
 * wrangler.toml); `npm run dev:app` serves it with hot reload and passes API calls to the Worker
 * that `npm start` runs (API_PROXY, default http://localhost:8787). VITE_API_URL, at build time,
 * points a build hosted on another origin at the API.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vue from '@vitejs/plugin-vue';
import { defineConfig, type Plugin } from 'vite';
import { securityHeaders } from '../src/http/security-headers.ts';

const require = createRequire(import.meta.url);

/**
 * Adds to the build what the Worker does not answer itself: Swagger UI's files for /docs (from
 * the pinned swagger-ui-dist, under /app/docs/) and the assets layer's `_headers`, so every file
 * it serves carries the same security headers as the Worker's responses.
 */
function docsAndHeaders(): Plugin {
  const apiOrigin = process.env.VITE_API_URL ? [new URL(process.env.VITE_API_URL).origin] : [];
  return {
    name: 'docs-and-headers',
    apply: 'build',
    generateBundle() {
      for (const file of ['swagger-ui-bundle.js', 'swagger-ui.css', 'LICENSE', 'NOTICE']) {
        this.emitFile({
          type: 'asset',
          fileName: `docs/${file}`,
          source: readFileSync(require.resolve(`swagger-ui-dist/${file}`)),
        });
      }
      this.emitFile({
        type: 'asset',
        fileName: 'docs/init.js',
        source: readFileSync(path.join(import.meta.dirname, 'docs', 'init.js')),
      });
      const headers = Object.entries(securityHeaders(apiOrigin)).map(([name, value]) => `  ${name}: ${value}`);
      this.emitFile({ type: 'asset', fileName: '_headers', source: `/*\n${headers.join('\n')}\n` });
    },
  };
}

const API_PATHS = ['/auth', '/api-', '/tasks', '/users', '/openapi.json', '/.well-known'];
const api = process.env.API_PROXY ?? 'http://localhost:8787';

export default defineConfig({
  root: import.meta.dirname,
  base: '/app/',
  plugins: [vue(), docsAndHeaders()],
  build: { outDir: 'dist', emptyOutDir: true },
  server: {
    // The API sees the page as its own origin, so its session routes' Origin check passes.
    proxy: Object.fromEntries(API_PATHS.map((path) => [path, { target: api, headers: { Origin: api } }])),
  },
});
