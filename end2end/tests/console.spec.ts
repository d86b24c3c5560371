import { test, expect } from './fixtures';
import { ADMIN, isHydrated, open, signIn, signInOk } from './helpers';

// One server per project: these tests build on each other in order.
test.describe.configure({ mode: 'serial' });

test('first run creates the organization, then sign in, sidebar and sign out', async ({ page }, info) => {
  await open(page, info, '/');
  await expect(page.getByRole('heading', { name: 'Set up your registry' })).toBeVisible();

  // A reserved slug passes the browser's checks but not the server's: the
  // message appears next to the slug field.
  await page.getByLabel('Organization name').fill('Acme Corp');
  await page.getByLabel('Slug').fill('v2');
  await page.getByLabel('Admin email').fill(ADMIN.email);
  await page.getByLabel('Admin password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Create organization' }).click();
  await expect(page.locator('#slug-error')).toContainText('reserved');

  await open(page, info, page.url());
  await page.getByLabel('Organization name').fill('Acme Corp');
  await page.getByLabel('Slug').fill('acme');
  await page.getByLabel('Admin email').fill(ADMIN.email);
  await page.getByLabel('Admin password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Create organization' }).click();
  await expect(page).toHaveURL(/\/signin\?welcome=1$/);
  await expect(page.getByRole('status')).toContainText('Your organization is ready');

  if (isHydrated(info)) {
    await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  }
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/artifacts$/);
  await expect(page.getByRole('heading', { name: 'Artifacts', level: 1 })).toBeVisible();

  const nav = page.getByRole('navigation', { name: 'Console' });
  await expect(nav.getByRole('link')).toHaveText(['Artifacts', 'Licenses', 'Settings']);
  await expect(page.locator('.sidebar')).toContainText('Acme Corp');
  await expect(page.locator('.sidebar')).toContainText(ADMIN.email);

  await nav.getByRole('link', { name: 'Licenses' }).click();
  await expect(page).toHaveURL(/\/licenses$/);
  await expect(page.getByRole('heading', { name: 'Licenses', level: 1 })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Licenses' })).toHaveAttribute('aria-current', 'page');

  await nav.getByRole('link', { name: 'Settings' }).click();
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.getByTestId('plan')).toContainText('Pro trial');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/signin$/);
  await open(page, info, '/settings');
  await expect(page).toHaveURL(/\/signin\?next=\/settings$/);
  // Signing in goes on to the page that was asked for.
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.getByRole('heading', { name: 'Settings', level: 1 })).toBeVisible();
});

test('a wrong password is answered next to the form', async ({ page }, info) => {
  await signIn(page, info, ADMIN.email, 'not the password');
  await expect(page.getByRole('alert')).toHaveText('Incorrect email or password.');
  await signInOk(page, info, ADMIN.email, ADMIN.password);
});

test('an admin adds a user; a taken email is reported next to the field', async ({ page }, info) => {
  await signInOk(page, info, ADMIN.email, ADMIN.password);
  await open(page, info, '/settings');
  const form = page.getByRole('form', { name: 'Add a user' });

  await form.getByLabel('Email').fill(ADMIN.email);
  await form.getByLabel('Initial password').fill('another password');
  await form.getByRole('button', { name: 'Add user' }).click();
  await expect(page.locator('#email-error')).toHaveText('A user with this email already exists.');

  await open(page, info, '/settings');
  await form.getByLabel('Email').fill('dev@acme.test');
  await form.getByLabel('Initial password').fill('another password');
  await form.getByLabel('Role').selectOption('read_write');
  await form.getByRole('button', { name: 'Add user' }).click();
  const row = page.getByRole('row', { name: /dev@acme\.test/ });
  await expect(row).toBeVisible();
  await expect(row.getByRole('combobox')).toHaveValue('read_write');
});

test('with JavaScript a form is handled in place; without it, by a page load', async ({ page }, info) => {
  const hydrated = isHydrated(info);
  await signInOk(page, info, ADMIN.email, ADMIN.password);
  await open(page, info, '/settings');
  // A mark on this document: a page load would lose it.
  await page.evaluate(() => { (window as any).stayed = true; });
  const form = page.getByRole('form', { name: 'Add a user' });

  // Refused: the message next to the field; in place, what was typed stays.
  await form.getByLabel('Email').fill(ADMIN.email);
  await form.getByLabel('Initial password').fill('another password');
  await form.getByRole('button', { name: 'Add user' }).click();
  await expect(page.locator('#email-error')).toHaveText('A user with this email already exists.');
  if (hydrated) await expect(form.getByLabel('Email')).toHaveValue(ADMIN.email);

  await form.getByLabel('Email').fill('ops@acme.test');
  await form.getByLabel('Initial password').fill('another password');
  // In place, the post is held until the busy state has been seen.
  let release = () => {};
  if (hydrated) {
    const action = new URL((await form.getAttribute('action'))!, page.url()).pathname;
    const held = new Promise<void>((resolve) => { release = resolve; });
    await page.route(`**${action}`, async (route) => { await held; await route.continue(); });
  }
  await form.getByRole('button', { name: 'Add user' }).click();
  if (hydrated) {
    await expect(form).toHaveAttribute('aria-busy', 'true');
    await expect(form.getByRole('button', { name: 'Adding…' })).toBeDisabled();
    release();
  }
  await expect(page.getByRole('row', { name: /ops@acme\.test/ })).toBeVisible();
  // Added: the form is empty again, ready for the next user.
  await expect(form.getByLabel('Email')).toHaveValue('');
  await expect(form.getByRole('button', { name: 'Add user' })).toBeEnabled();
  await expect(form).not.toHaveAttribute('aria-busy', 'true');

  const stayed = await page.evaluate(() => (window as any).stayed === true);
  if (hydrated) {
    // Hydrated: the form was posted and the answer patched into the same document.
    expect(stayed).toBe(true);
  } else {
    // Plain HTML: the form post and its redirect loaded the page again.
    expect(stayed).toBe(false);
  }
});

test('a form post answered with plain text shows it; a failed connection does not post twice', async ({ page }, info) => {
  await signInOk(page, info, ADMIN.email, ADMIN.password);
  await open(page, info, '/settings');
  const form = page.getByRole('form', { name: 'Add a user' });
  const action = new URL((await form.getAttribute('action'))!, page.url()).pathname;
  // The edge's refusal of a post from another site is plain text.
  const refusal = 'This request came from another site, so it was not carried out.';
  await page.route(`**${action}`, (route) => route.fulfill({ status: 403, contentType: 'text/plain; charset=utf-8', body: refusal }));
  await form.getByLabel('Email').fill('qa@acme.test');
  await form.getByLabel('Initial password').fill('another password');
  await form.getByRole('button', { name: 'Add user' }).click();
  if (isHydrated(info)) {
    // In place: the text at the top of the form, what was typed kept.
    await expect(form.getByRole('alert')).toHaveText(refusal);
    await expect(form.getByLabel('Email')).toHaveValue('qa@acme.test');
    await expect(page).toHaveURL(/\/settings$/);

    // The connection drops: the form says so and the post is not sent again.
    await page.unroute(`**${action}`);
    let posts = 0;
    await page.route(`**${action}`, (route) => { posts++; return route.abort('connectionreset'); });
    await form.getByRole('button', { name: 'Add user' }).click();
    await expect(form.getByRole('alert')).toContainText('The connection failed before the server answered.');
    expect(posts).toBe(1);
    await expect(form.getByRole('button', { name: 'Add user' })).toBeEnabled();
  } else {
    // Without JavaScript the browser shows the text as the page.
    await expect(page.locator('body')).toHaveText(refusal);
  }
});
