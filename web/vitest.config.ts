import { defineProject } from 'vitest/config';

// Dashboard component tests (jsdom). The dashboard's own Vite config adds the Vue plugin.
export default defineProject({
  test: {
    name: 'web',
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
    passWithNoTests: true,
  },
});
