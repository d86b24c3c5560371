import { expect, type Locator, type Page, type TestInfo } from '@playwright/test';

export const isHydrated = (info: TestInfo) => info.project.name.startsWith('hydrated');

/** Goes to `path`; in the hydrated run, waits until the page has hydrated. */
export async function open(page: Page, info: TestInfo, path: string) {
  await page.goto(path);
  if (isHydrated(info)) {
    // Loading and compiling the (debug) wasm can take a while on a busy machine.
    await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1, { timeout: 30_000 });
  }
}

/**
 * Searches for `text` in `box`: as you type when hydrated, by submitting the
 * form without JavaScript (the query then stands in the URL).
 */
export async function search(page: Page, info: TestInfo, box: Locator, text: string) {
  if (isHydrated(info)) {
    await box.pressSequentially(text);
  } else {
    await box.fill(text);
    await box.press('Enter');
    await expect(page).toHaveURL(new RegExp(`\\?q=${text}$`));
  }
}

export async function signIn(page: Page, info: TestInfo, email: string, password: string) {
  await open(page, info, '/signin');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Signs in and waits for the console to load. */
export async function signInOk(page: Page, info: TestInfo, email: string, password: string) {
  await signIn(page, info, email, password);
  await expect(page).toHaveURL(/\/artifacts$/);
}

/** Waits until the page's live-update stream is connected (hydrated only). */
export async function live(page: Page) {
  await expect(page.locator('body[data-live="connected"]')).toHaveCount(1, { timeout: 30_000 });
}

export const ADMIN = { email: 'admin@acme.test', password: 'correct horse battery' };

/**
 * Deletes through a row's "Delete" confirmation (a `<details>`), opening it
 * again if its button does not show within 2 s. (A live update renders the
 * page again and keeps an opened confirmation open, router.spec tests that;
 * the retry only spares a slow machine a failure on a click that did not
 * take.) The deletion itself is asserted by the caller.
 */
export async function confirmDelete(row: Locator) {
  await expect(async () => {
    await row.getByText('Delete', { exact: true }).click();
    await row.getByRole('button', { name: 'Confirm delete' }).click({ timeout: 2_000 });
  }).toPass({ timeout: 30_000 });
}
