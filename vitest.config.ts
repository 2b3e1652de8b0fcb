import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs nothing but Node; `engine` talks to the real
// Docker engine (scripts/setup-engine.sh) and builds real binaries.
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/**/*.engine.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'engine',
          include: ['test/**/*.engine.test.ts'],
          testTimeout: 20 * 60_000,
          hookTimeout: 30 * 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
