import { test, expect } from './fixtures';
import { isHydrated, open, signInOk } from './helpers';
import { admin, jsonApi, pushImage } from './registry-helpers';

// Its own organization, made with the CLI.
const USER = { email: 'owner@initech.test', password: 'initech password 1' };

test('a vendor creates a customer, adds a user, renames and deletes it', async ({ page }, info) => {
  admin(info, ['create-org', '--slug', 'initech', '--name', 'Initech', '--admin-email', USER.email, '--plan', 'pro'], USER.password + '\n');
  await signInOk(page, info, USER.email, USER.password);
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Licenses' }).click();
  await expect(page.getByRole('heading', { name: 'No customers yet' })).toBeVisible();

  const create = page.getByRole('form', { name: 'Create customer' });
  await create.getByLabel('Customer name').fill('Globex');
  await create.getByRole('button', { name: 'Create customer' }).click();
  await expect(page).toHaveURL(/\/licenses\/\d+$/);
  await expect(page.getByRole('heading', { name: 'Globex', level: 1 })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Customer' })).toContainText('Artifact Entitlements');
  const detail = page.url();

  const add = page.getByRole('form', { name: 'Add a customer user' });
  await add.getByLabel('Email').fill('c@globex.test');
  await add.getByLabel('Initial password', { exact: true }).fill('customer password');
  await add.getByLabel('Role').selectOption('member');
  await add.getByRole('button', { name: 'Add user' }).click();
  await expect(page.getByRole('table', { name: 'Customer users' }).getByRole('row', { name: /c@globex\.test/ })).toContainText('Member');

  // A wrong confirmation is refused next to the field; nothing is deleted.
  await open(page, info, new URL(detail).pathname);
  await page.getByText('Delete this customer…').click();
  const del = page.getByRole('form', { name: 'Delete customer' });
  await expect(page.getByText('removes its 1 user(s)')).toBeVisible();
  await del.getByLabel(/to confirm/).fill('Globe');
  await del.getByRole('button', { name: 'Delete customer' }).click();
  await expect(page.locator('#confirm-error')).toContainText('Type the customer');
  // The panel stays open, so the message is seen.
  await expect(page.locator('#confirm-error')).toBeVisible();
  if (isHydrated(info)) await expect(del.getByLabel(/to confirm/)).toHaveValue('Globe');

  await open(page, info, new URL(detail).pathname);
  await page.getByText('Delete this customer…').click();
  await del.getByLabel(/to confirm/).fill('Globex');
  await del.getByRole('button', { name: 'Delete customer' }).click();
  await expect(page).toHaveURL(/\/licenses$/);
  await expect(page.getByRole('heading', { name: 'No customers yet' })).toBeVisible();
});

test('a vendor adds a user with a one-time link; the customer sets a password with it', async ({ page, browser }, info) => {
  // Its own organization: every spec of a project shares one server.
  const owner = { email: 'owner@piedpiper.test', password: 'piedpiper password 1' };
  admin(info, ['create-org', '--slug', 'piedpiper', '--name', 'Pied Piper', '--admin-email', owner.email], owner.password + '\n');
  await signInOk(page, info, owner.email, owner.password);
  await open(page, info, '/licenses');
  const create = page.getByRole('form', { name: 'Create customer' });
  await create.getByLabel('Customer name').fill('Hooli');
  await create.getByRole('button', { name: 'Create customer' }).click();
  await expect(page.getByRole('heading', { name: 'Hooli', level: 1 })).toBeVisible();
  if (isHydrated(info)) await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1, { timeout: 30_000 });

  // The password is asked for only with the first choice.
  const add = page.getByRole('form', { name: 'Add a customer user' });
  await expect(add.getByLabel('Set an initial password')).toBeChecked();
  await expect(add.getByLabel('Initial password', { exact: true })).toBeVisible();
  await add.getByLabel('Create a one-time link').check();
  await expect(add.getByLabel('Initial password', { exact: true })).toBeHidden();
  await expect(add.getByText('It works once, for 7 days.')).toBeVisible();
  await add.getByLabel('Email').fill('gavin@hooli.test');
  await add.getByLabel('Role').selectOption('admin');
  await add.getByRole('button', { name: 'Add user' }).click();

  // The link, once, with a copy button and how long it works.
  const notice = page.getByRole('status').filter({ hasText: 'one-time link' });
  await expect(notice).toContainText('gavin@hooli.test was added with a one-time link.');
  await expect(notice).toContainText('once, within 7 days');
  const url = (await page.getByTestId('set-password-url').textContent())!.trim();
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/set-password\/[0-9a-f]{64}$/);
  await expect(notice.getByRole('button', { name: /^Copy link/ })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Customer users' }).getByRole('row', { name: /gavin@hooli\.test/ })).toContainText('Admin');

  // The customer, in a browser of their own, follows the link.
  const context = await browser.newContext({ baseURL: info.project.use.baseURL, javaScriptEnabled: isHydrated(info) });
  const customer = await context.newPage();
  try {
    await open(customer, info, new URL(url).pathname);
    await expect(customer.getByRole('heading', { name: 'Set your password' })).toBeVisible();
    await expect(customer.getByLabel('Email')).toHaveValue('gavin@hooli.test');
    await customer.getByLabel('New password').fill('gavin password');
    await customer.getByLabel('Confirm the password').fill('gavin passw0rd');
    await customer.getByRole('button', { name: 'Set password and sign in' }).click();
    await expect(customer.locator('#confirm-error')).toContainText('The two passwords do not match.');

    await customer.getByLabel('New password').fill('gavin password');
    await customer.getByLabel('Confirm the password').fill('gavin password');
    await customer.getByRole('button', { name: 'Set password and sign in' }).click();
    await expect(customer).toHaveURL(/\/portal$/);
    await expect(customer.getByText('gavin@hooli.test')).toBeVisible();

    // Used: the same link now says so.
    await open(customer, info, new URL(url).pathname);
    await expect(customer.getByRole('heading', { name: 'This link does not work' })).toBeVisible();
    await expect(customer.getByRole('alert')).toContainText('used already or have expired');
  } finally {
    await context.close();
  }
});

test('the customer list pages with a Next link and searches by name', async ({ page, baseURL }, info) => {
  // Its own organization: every spec of a project shares one server.
  const owner = { email: 'owner@vandelay.test', password: 'vandelay password 1' };
  admin(info, ['create-org', '--slug', 'vandelay', '--name', 'Vandelay', '--admin-email', owner.email], owner.password + '\n');
  const token = admin(info, ['create-token', '--email', owner.email, '--label', 'e2e']);
  for (const name of ['Soylent', 'Stark', 'Tyrell', 'Wayne', 'Wonka']) {
    const r = await fetch(`${baseURL}/api/v1/customers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    expect(r.status).toBe(201);
  }
  await signInOk(page, info, owner.email, owner.password);
  await open(page, info, '/licenses?limit=2');
  if (isHydrated(info)) await page.evaluate(() => { (window as any).stayed = true; });
  const table = page.getByRole('table', { name: 'Customers' });
  const pager = page.getByRole('navigation', { name: 'Customer pages' });
  await expect(table.getByRole('link')).toHaveText(['Soylent', 'Stark']);
  await pager.getByRole('link', { name: 'Next' }).click();
  await expect(page).toHaveURL(/\/licenses\?limit=2&after=Stark$/);
  await expect(table.getByRole('link')).toHaveText(['Tyrell', 'Wayne']);
  await pager.getByRole('link', { name: 'Next' }).click();
  await expect(table.getByRole('link')).toHaveText(['Wonka']);
  await expect(pager.getByRole('link', { name: 'Next' })).toHaveCount(0);
  if (isHydrated(info)) expect(await page.evaluate(() => (window as any).stayed)).toBe(true);

  // Search (a GET form: Enter submits it, with or without JavaScript) starts
  // from the first page of what matches and keeps the page size.
  const search = page.getByRole('searchbox', { name: 'Search customers' });
  await search.fill('w');
  await search.press('Enter');
  await expect(page).toHaveURL(/\/licenses\?q=w&limit=2$/);
  await expect(table.getByRole('link')).toHaveText(['Wayne', 'Wonka']);
  await expect(pager).toHaveCount(0);
  await search.fill('nobody');
  await search.press('Enter');
  await expect(page.getByText('No customer matches this search.')).toBeVisible();
});

test('the customer list filters to entitlements ending within 30 days', async ({ page, baseURL }, info) => {
  const owner = { email: 'owner@kramerica.test', password: 'kramerica password 1' };
  admin(info, ['create-org', '--slug', 'kramerica', '--name', 'Kramerica', '--admin-email', owner.email, '--plan', 'pro'], owner.password + '\n');
  const token = admin(info, ['create-token', '--email', owner.email, '--label', 'e2e']);
  await pushImage(baseURL!, owner.email, token, 'kramerica/bro', '1.0');
  const api = jsonApi(baseURL!, token);
  const soon = new Date(Date.now() + 10 * 86_400_000);
  for (const [name, ends] of [['Brolly', soon], ['Mansiere', null], ['Coffee Table', new Date(Date.now() + 40 * 86_400_000)]] as const) {
    const c = await api('POST', '/api/v1/customers', { name });
    await api('POST', `/api/v1/customers/${c.id}/entitlements`, {
      name: 'Deal', expires_at: ends ? ends.toISOString() : null, artifacts: [{ artifact: 'bro', tags: 'all' }],
    });
  }
  await signInOk(page, info, owner.email, owner.password);
  await open(page, info, '/licenses');
  const table = page.getByRole('table', { name: 'Customers' });
  await expect(table.getByRole('link')).toHaveText(['Brolly', 'Coffee Table', 'Mansiere']);
  await page.getByLabel('Entitlement ending within 30 days').check();
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/\/licenses\?q=&ending=30$/);
  await expect(table.getByRole('link')).toHaveText(['Brolly']);
  await expect(table.getByRole('row', { name: /Brolly/ })).toContainText(soon.toISOString().slice(0, 10));
  await expect(page.getByLabel('Entitlement ending within 30 days')).toBeChecked();
});
