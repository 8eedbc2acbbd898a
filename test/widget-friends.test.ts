// The widget in a domain whose contacts are friends (SPEC §10.3), in a real browser: its
// contact list shows the visitor's friends (online or not) and its conversations, never the
// other users online; a friendship made while the list is on screen shows up in it.
import assert from 'node:assert/strict'
import path from 'node:path'
import { after } from 'node:test'
import type { Locator, Page } from 'playwright-core'
import { browserTest, closeBrowser } from './helpers/browser.ts'
import { hostPage } from './helpers/host-page.ts'
import { expectStatus } from './helpers/rest.ts'
import { startServer } from './helpers/server.ts'

after(() => closeBrowser())

const contacts = (page: Page): Locator => page.getByRole('list', { name: 'Contacts' })
const names = (page: Page): Promise<string[]> =>
  contacts(page).locator('li .name').evaluateAll((els) => els.map((e: any) => e.textContent ?? '').sort())

browserTest('in a friends-only domain the widget lists friends and conversations, not everyone online', async (t, open) => {
  const server = await startServer(t)
  const domain = await server.domain()
  const api = (method: string, p: string, body?: unknown) => server.api(method, `/api/v1/domains/${domain.id}${p}`, body, domain.apiKey)
  for (const [id, name] of [[2, 'Ada'], [3, 'Bob'], [4, 'Carol'], [5, 'Dave'], [6, 'Eve']] as const) {
    await expectStatus('profile', api('PUT', `/users/${id}`, { name }), 200)
  }
  // Eve wrote to Ada while the domain was open to everyone: a conversation, not a friend
  await expectStatus('send', api('POST', '/messages', { from_userid: 6, to_userid: 2, message: 'Hi Ada, Eve here', type: 0 }), 201)
  await expectStatus('contacts', api('PATCH', '', { contacts: 'friends' }), 200)
  await expectStatus('friend', api('PUT', '/users/2/friends/3'), 204)
  await expectStatus('friend', api('PUT', '/users/2/friends/5'), 204)
  // Bob (a friend) and Carol (not one) are online; Dave (a friend) never came
  await server.connect(domain, 3)
  await server.connect(domain, 4)

  const site = await hostPage(t, server.httpUrl, (uid) => server.token(domain, uid, 3600))
  const { page, errors } = await open(site.url(2, { 'data-domain': domain.id }))
  page.setDefaultTimeout(20_000)
  await page.getByRole('button', { name: 'Chat', exact: true }).click()
  await contacts(page).getByRole('listitem').filter({ hasText: 'Bob' }).getByText('online').waitFor()
  await contacts(page).getByRole('listitem').filter({ hasText: 'Dave' }).getByText('offline').waitFor()
  await contacts(page).getByRole('listitem').filter({ hasText: 'Eve' }).getByText('Hi Ada, Eve here').waitFor()
  assert.deepEqual(await names(page), ['Bob', 'Dave', 'Eve'], 'Carol is online but not a friend')
  await page.screenshot({ path: path.join(import.meta.dirname, '..', 'test-artifacts', 'widget-friends.png') })

  // befriended while the list is on screen: Carol comes in, online
  await expectStatus('friend', api('PUT', '/users/4/friends/2'), 204)
  await contacts(page).getByRole('listitem').filter({ hasText: 'Carol' }).getByText('online').waitFor()
  assert.deepEqual(await names(page), ['Bob', 'Carol', 'Dave', 'Eve'])
  assert.deepEqual(errors.filter((e) => !e.includes('favicon.ico')), [], 'no errors in the page')
})
