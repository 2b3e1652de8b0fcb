import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs nothing but Node; `engine` talks to the real
// Docker engine (scripts/setup-engine.sh) and builds real binaries.
// Timeouts only catch hangs: they are sized for a loaded 2-core machine (a CLI
// test starts several Node processes, a browser test several Chromiums), and
// no test asserts how long anything took.
export default defineConfig({
  test: {
    globalSetup: ['test/setup/build-dist.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.engine.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
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
