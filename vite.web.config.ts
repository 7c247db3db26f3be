// Builds the web dashboard (web/) into dist/web/, which the JobManager serves at the REST port's
// root (src/rest/dashboard-files.ts). Relative asset URLs, so it also works behind a path prefix.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('./web', import.meta.url)),
  base: './',
  // Nothing is fetched at run time from elsewhere: no CDN, no web fonts.
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('./dist/web', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
