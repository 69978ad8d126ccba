import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

// The dashboard. Built from the repository root with
//   npx vite build --config web/vite.config.ts
// into web/dist, which `awb serve` serves on the API's port. `vite --config web/vite.config.ts`
// runs a dev server that proxies /api to a running `awb serve` (AWB_API, default http://127.0.0.1:7860).
const webRoot = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  root: webRoot,
  base: './',
  plugins: [vue()],
  resolve: {
    alias: { '~': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      output: {
        manualChunks(id: string) {
          if (id.includes('node_modules/echarts') || id.includes('node_modules/zrender')) return 'echarts';
          if (id.includes('node_modules/vue') || id.includes('node_modules/@vue')) return 'vue';
          return undefined;
        },
      },
    },
  },
  server: {
    fs: { allow: [repoRoot] },
    proxy: { '/api': { target: process.env['AWB_API'] ?? 'http://127.0.0.1:7860', changeOrigin: true } },
  },
});
