import { test, expect } from './fixtures';
import { isHydrated, open, signInOk } from './helpers';
import { admin, pushImage } from './registry-helpers';

// Mirroring (issue 14). The upstream is this same server under another
// organization (the project's servers allow loopback upstreams over http).
const UP = { email: 'ci@hooli-up.test', password: 'hooli upstream password 1' };
const USER = { email: 'owner@hooli.test', password: 'hooli password 1' };

test.describe.configure({ mode: 'serial' });

test('mirror from a registry: create, Sync now, the tags appear', async ({ page, baseURL }, info) => {
  admin(info, ['create-org', '--slug', 'hooli-up', '--name', 'Hooli CI', '--admin-email', UP.email], UP.password + '\n');
  const upToken = admin(info, ['create-token', '--email', UP.email, '--label', 'e2e']);
  await pushImage(baseURL!, UP.email, upToken, 'hooli-up/web', '1.0.0');
  admin(info, ['create-org', '--slug', 'hooli', '--name', 'Hooli', '--admin-email', USER.email], USER.password + '\n');

  await signInOk(page, info, USER.email, USER.password);
  await page.getByRole('link', { name: 'Mirror from a registry' }).first().click();
  await expect(page.getByRole('heading', { name: 'Mirror from a registry', level: 1 })).toBeVisible();
  if (isHydrated(info)) await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1, { timeout: 30_000 });
  const form = page.getByRole('form', { name: 'Mirror from a registry' });
  const fill = async (url: string) => {
    await form.getByLabel('Artifact').fill('web');
    await form.getByLabel('Registry URL').fill(url);
    await form.getByLabel('Repository').fill('hooli-up/web');
    await form.getByLabel('User name (optional)').fill(UP.email);
    await form.getByLabel('Password or token (optional)').fill(upToken);
    await form.getByLabel('Tags', { exact: true }).fill('all');
    await form.getByRole('button', { name: 'Mirror' }).click();
  };
  // A metadata address is refused, with the message next to the field.
  await fill('http://169.254.169.254');
  await expect(form.locator('#url-error')).toContainText('link-local');
  await fill(baseURL!);
  await expect(page).toHaveURL(/\/upstreams\/\d+$/);
  await expect(page.getByRole('heading', { name: 'Mirror of web', level: 1 })).toBeVisible();
  await expect(page.getByTestId('credentials')).toContainText('set (user ci@hooli-up.test)');

  // The first sync runs at once: hydrated, the page follows it live;
  // without JavaScript, refreshing shows it.
  const synced = page.getByTestId('tags-synced');
  const until = async (tag: string) => {
    if (isHydrated(info)) {
      await expect(synced).toContainText(tag, { timeout: 30_000 });
    } else {
      await expect(async () => {
        await page.reload();
        await expect(synced).toContainText(tag, { timeout: 500 });
      }).toPass({ timeout: 30_000 });
    }
  };
  await until('1.0.0');

  // The vendor's CI pushes a new tag upstream; Sync now copies it.
  await pushImage(baseURL!, UP.email, upToken, 'hooli-up/web', '1.1.0');
  await page.getByRole('button', { name: 'Sync now' }).click();
  await until('1.1.0');
  await expect(page.getByTestId('upstream-state')).toContainText('Up to date');
  expect(await page.content()).not.toContain(upToken);

  // The artifact is like a pushed one, and its page says where it comes from.
  await open(page, info, '/artifacts/web');
  await expect(page.getByRole('table')).toContainText('1.1.0');
  await expect(page.getByRole('heading', { name: 'Mirrored' })).toBeVisible();
  expect(await page.content()).not.toContain(upToken);
});
