import { test as base, expect } from '@playwright/test';

/**
 * `test` with a guard: any uncaught error in the page (a panic in the
 * hydrated app, a failed hydration, anything the Content-Security-Policy
 * blocked) fails the test and is printed.
 */
export const test = base.extend<{ pageErrors: string[] }>({
  pageErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error' && /panicked|RuntimeError|unreachable|Content Security Policy/.test(m.text())) errors.push(m.text());
      });
      await use(errors);
      expect(errors, 'errors in the page').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
