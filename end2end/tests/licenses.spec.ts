import { test, expect } from './fixtures';
import { open, signInOk } from './helpers';
import { admin } from './registry-helpers';

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
  await add.getByLabel('Initial password').fill('customer password');
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

  await open(page, info, new URL(detail).pathname);
  await page.getByText('Delete this customer…').click();
  await del.getByLabel(/to confirm/).fill('Globex');
  await del.getByRole('button', { name: 'Delete customer' }).click();
  await expect(page).toHaveURL(/\/licenses$/);
  await expect(page.getByRole('heading', { name: 'No customers yet' })).toBeVisible();
});
