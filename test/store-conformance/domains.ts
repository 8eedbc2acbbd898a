// The store conformance suite, domains: created once, found, re-keyed, patched.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { withDomain, freshStore, type StoreFactory } from './helpers.ts'

export function domainsConformance (name: string, factory: StoreFactory): void {
  const fresh = freshStore(factory)

  test(`${name}: domains are created once, found by id and by key hash, and re-keyed`, async (t) => {
    const s = await fresh(t)
    await withDomain(s, 'acme')
    await withDomain(s, 'beta')
    await assert.rejects(s.createDomain({ id: 'acme', name: 'again', apiKeyHash: 'hash-other', tokenSecret: 'x', createdAt: 1 }),
      (err: { code?: string }) => err.code === 'domain_exists')
    assert.deepEqual(await s.getDomain('acme'), { id: 'acme', name: 'ACME', tokenSecret: 'secret-acme', createdAt: 1_700_000_000_000, retentionDays: 0, allowedOrigins: [], contacts: 'everyone' })
    assert.equal(await s.getDomain('nope'), null)
    assert.deepEqual((await s.listDomains()).map((d) => d.id), ['acme', 'beta'])
    assert.equal(await s.domainIdByKeyHash('hash-beta'), 'beta')
    await s.setDomainKeyHash('beta', 'hash-beta-2')
    assert.equal(await s.domainIdByKeyHash('hash-beta'), null)
    assert.equal(await s.domainIdByKeyHash('hash-beta-2'), 'beta')
  })

  test(`${name}: a domain's settings are patched field by field`, async (t) => {
    const s = await fresh(t)
    await withDomain(s, 'acme')
    const patched = await s.updateDomain('acme', { retentionDays: 30, allowedOrigins: ['https://www.acme.test', 'http://localhost:3000'] })
    assert.deepEqual(patched, { id: 'acme', name: 'ACME', tokenSecret: 'secret-acme', createdAt: 1_700_000_000_000, retentionDays: 30, allowedOrigins: ['https://www.acme.test', 'http://localhost:3000'], contacts: 'everyone' })
    await s.updateDomain('acme', { name: 'Acme Ltd' })
    assert.deepEqual(await s.getDomain('acme'), { ...patched, name: 'Acme Ltd' })
    await s.updateDomain('acme', { allowedOrigins: [], retentionDays: 0 })
    const d = await s.getDomain('acme')
    assert.deepEqual([d!.allowedOrigins, d!.retentionDays, d!.name], [[], 0, 'Acme Ltd'])
    assert.equal((await s.updateDomain('acme', { contacts: 'friends' }))!.contacts, 'friends')
    assert.deepEqual(await s.getDomain('acme'), { ...d, contacts: 'friends' }, 'only contacts changed')
    assert.equal((await s.updateDomain('acme', { name: 'Acme' }))!.contacts, 'friends', 'kept when not patched')
    assert.equal(await s.updateDomain('nope', { name: 'x' }), null)
  })
}
