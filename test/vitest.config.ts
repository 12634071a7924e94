import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  root,
  resolve: {
    // Tests run against the TypeScript sources of sibling packages, not their build output.
    // A subpath export (`@clawback/sign/verify`) is the module of that name in src/.
    alias: [
      { find: /^@clawback\/([a-z-]+)$/, replacement: `${root}packages/$1/src/index.ts` },
      { find: /^@clawback\/([a-z-]+)\/([a-z-]+)$/, replacement: `${root}packages/$1/src/$2.ts` },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
