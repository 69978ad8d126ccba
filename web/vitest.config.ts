import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';
import vue from '@vitejs/plugin-vue';

// Dashboard component tests (jsdom), with the same Vue plugin and `~` alias as web/vite.config.ts.
export default defineProject({
  plugins: [vue()],
  resolve: {
    alias: { '~': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  test: {
    name: 'web',
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
    passWithNoTests: true,
  },
});
