// Profiles, users' tokens as REST credentials, domain settings, CORS and the WebSocket
// Origin check (SPEC §2, §3).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import jwt from 'jsonwebtoken'
import { connackCode } from './helpers/mqtt.ts'
import { startServer } from './helpers/server.ts'
import { waitFor } from './helpers/wait.ts'

test('a profile is set with PUT or the token call, read back with presence, and listed by userid in pages', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const base = `/api/v1/domains/${d.id}/users`
  const put = await s.api('PUT', `${base}/2`, { name: 'Ada L.', avatar: 'https://img.test/ada.png' }, d.apiKey)
  assert.equal(put.status, 200)
  assert.deepEqual(put.body, { userid: 2, name: 'Ada L.', avatar: 'https://img.test/ada.png', link: null, status: 'offline', timestamp: put.body.timestamp })
  // a field left out is kept, "" clears it
  await s.api('PUT', `${base}/2`, { link: 'http://ada.test/me', avatar: '' }, d.apiKey)
  const got = await s.api('GET', `${base}/2`, undefined, d.apiKey)
  assert.deepEqual([got.body.name, got.body.avatar, got.body.link], ['Ada L.', null, 'http://ada.test/me'])

  const tok = await s.api('POST', `${base}/3/token`, { ttlSeconds: 60, name: 'Bob', avatar: 'https://img.test/bob.png' }, d.apiKey)
  assert.equal(tok.status, 200)
  assert.equal((await s.api('GET', `${base}/3`, undefined, d.apiKey)).body.name, 'Bob')
  assert.equal((await s.api('GET', `${base}/99`, undefined, d.apiKey)).status, 404)

  // presence beside the profile; the list pages by userid
  await s.connect(d, 3)
  await waitFor(async () => (await s.api('GET', `${base}/3`, undefined, d.apiKey)).body.status === 'online', 'user 3 online')
  for (const u of [5, 7, 9]) await s.token(d, u)
  const page1 = await s.api('GET', `${base}?limit=2`, undefined, d.apiKey)
  assert.deepEqual(page1.body.users.map((u: any) => u.userid), [2, 3])
  assert.equal(page1.body.next, 3)
  assert.deepEqual(Object.keys(page1.body.users[1]), ['userid', 'name', 'avatar', 'link', 'status', 'timestamp'])
  const page2 = await s.api('GET', `${base}?limit=2&after=${page1.body.next}`, undefined, d.apiKey)
  assert.deepEqual(page2.body.users.map((u: any) => u.userid), [5, 7])
  const page3 = await s.api('GET', `${base}?limit=2&after=${page2.body.next}`, undefined, d.apiKey)
  assert.deepEqual([page3.body.users.map((u: any) => u.userid), page3.body.next], [[9], null])
  const online = await s.api('GET', `${base}?status=online`, undefined, d.apiKey)
  assert.deepEqual(online.body.users.map((u: any) => [u.userid, u.name, u.status]), [[3, 'Bob', 'online']])
})

test('bad profile fields are refused with the field named, and nothing changes', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const url = `/api/v1/domains/${d.id}/users/2`
  await s.api('PUT', url, { name: 'Ada' }, d.apiKey)
  const cases: Array<[unknown, string, RegExp]> = [
    [{ name: 'x'.repeat(201) }, 'invalid_request', /name/],
    [{ name: 42 }, 'invalid_request', /name/],
    [{ avatar: 'javascript:alert(1)' }, 'invalid_url', /avatar/],
    [{ link: 'ftp://files.test/x' }, 'invalid_url', /link/],
    [{ avatar: 'not a url' }, 'invalid_url', /avatar/],
    [{ avatar: `https://img.test/${'a'.repeat(2100)}` }, 'invalid_request', /avatar/],
    [{ nickname: 'Ada' }, 'invalid_request', /nickname/]
  ]
  for (const [body, code, field] of cases) {
    const r = await s.api('PUT', url, body, d.apiKey)
    assert.equal(r.status, 400, JSON.stringify(body))
    assert.equal(r.body.error.code, code, JSON.stringify(body))
    assert.match(r.body.error.message, field)
  }
  const tok = await s.api('POST', `/api/v1/domains/${d.id}/users/2/token`, { name: 'Eve', avatar: 'data:image/png;base64,AAAA' }, d.apiKey)
  assert.equal(tok.status, 400)
  const got = await s.api('GET', url, undefined, d.apiKey)
  assert.deepEqual([got.body.name, got.body.avatar, got.body.link], ['Ada', null, null])
})

test('the profile claims of a token (name, picture, profile) are saved when the user connects', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const exp = Math.floor(Date.now() / 1000) + 600
  const token = jwt.sign({ sub: '8', aud: d.id, exp, name: 'Grace H.', picture: 'https://img.test/grace.png', profile: 'https://site.test/u/8' }, d.tokenSecret, { algorithm: 'HS256' })
  assert.equal(await connackCode(s.mqttUrl, { username: `${d.id}/8`, password: token }), 0)
  const got = await s.api('GET', `/api/v1/domains/${d.id}/users/8`, undefined, d.apiKey)
  assert.deepEqual([got.body.name, got.body.avatar, got.body.link], ['Grace H.', 'https://img.test/grace.png', 'https://site.test/u/8'])
  // unusable claims are left out; the user still connects
  const odd = jwt.sign({ sub: '8', aud: d.id, exp, name: 7, picture: 'javascript:alert(1)' }, d.tokenSecret, { algorithm: 'HS256' })
  assert.equal(await connackCode(s.mqttUrl, { username: `${d.id}/8`, password: odd }), 0)
  const again = await s.api('GET', `/api/v1/domains/${d.id}/users/8`, undefined, d.apiKey)
  assert.deepEqual([again.body.name, again.body.avatar], ['Grace H.', 'https://img.test/grace.png'])
})

test('a user\'s token makes the user calls for itself: another user\'s data is 403, another domain 404', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const other = await s.domain()
  const token = await s.token(d, 2)
  await s.token(d, 3)
  await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 3, to_userid: 2, message: 'hi', type: 0 }, d.apiKey)
  await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 3, to_userid: 4, message: 'not for 2', type: 0 }, d.apiKey)
  const base = `/api/v1/domains/${d.id}`

  const me = await s.api('GET', `${base}/users/2`, undefined, token)
  assert.equal(me.status, 200)
  assert.equal(me.body.userid, 2)
  assert.equal((await s.api('GET', `${base}/users`, undefined, token)).status, 200)
  assert.equal((await s.api('GET', `${base}/presence`, undefined, token)).status, 200)
  const mine = await s.api('GET', `${base}/messages?userid=2&peer=3`, undefined, token)
  assert.deepEqual(mine.body.messages.map((m: any) => m.message.message), ['hi'])

  const forbidden: Array<[string, string, unknown?]> = [
    ['GET', `${base}/messages?userid=3`],
    ['GET', `${base}/messages`],
    ['PUT', `${base}/users/2`, { name: 'me' }],
    ['POST', `${base}/users/3/token`, {}],
    ['POST', `${base}/messages`, { from_userid: 2, to_userid: 3, message: 'x', type: 0 }],
    ['GET', `${base}/callbacks/messages`],
    ['PATCH', base, { name: 'mine now' }],
    ['GET', base],
    ['GET', '/api/v1/domains']
  ]
  for (const [method, path, body] of forbidden) {
    const r = await s.api(method, path, body, token)
    assert.equal(r.status, 403, `${method} ${path}: ${JSON.stringify(r.body)}`)
    assert.equal(r.body.error.code, 'forbidden')
  }
  // another domain's paths are not revealed, whatever the call
  const elsewhere: Array<[string, string]> = [
    ['GET', `/api/v1/domains/${other.id}/users/2`], ['GET', `/api/v1/domains/${other.id}/presence`],
    ['GET', `/api/v1/domains/${other.id}/callbacks/messages`], ['GET', `/api/v1/domains/${other.id}/users/3/conversations`],
    ['GET', `/api/v1/domains/${other.id}/users/2/conversations`], ['PUT', `/api/v1/domains/${other.id}/users/3/blocks/2`],
    ['GET', `/api/v1/domains/${other.id}/messages?userid=3`], ['PATCH', `/api/v1/domains/${other.id}`]
  ]
  for (const [method, path] of elsewhere) {
    const r = await s.api(method, path, method === 'PATCH' ? { name: 'x' } : undefined, token)
    assert.equal(r.status, 404, `${method} ${path}`)
  }
  // a token signed with another secret, expired, or for nobody
  const forged = jwt.sign({ sub: '2', aud: d.id, exp: Math.floor(Date.now() / 1000) + 60 }, other.tokenSecret, { algorithm: 'HS256' })
  const expired = jwt.sign({ sub: '2', aud: d.id, exp: Math.floor(Date.now() / 1000) - 1 }, d.tokenSecret, { algorithm: 'HS256' })
  for (const bad of [forged, expired, 'a.b.c']) {
    assert.equal((await s.api('GET', `${base}/users/2`, undefined, bad)).status, 401)
  }
})

test('PATCH sets a domain\'s name, retentionDays and allowedOrigins; bad values change nothing', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const url = `/api/v1/domains/${d.id}`
  const r = await s.api('PATCH', url, { name: 'Acme Ltd', retentionDays: 30, allowedOrigins: ['https://www.acme.test'] }, d.apiKey)
  assert.equal(r.status, 200)
  assert.deepEqual([r.body.name, r.body.retentionDays, r.body.allowedOrigins], ['Acme Ltd', 30, ['https://www.acme.test']])
  for (const body of [{ retentionDays: -1 }, { retentionDays: 1.5 }, { allowedOrigins: ['https://www.acme.test/'] },
    { allowedOrigins: ['javascript:x'] }, { allowedOrigins: 'https://www.acme.test' }, { name: '' }, { colour: 'red' }]) {
    const bad = await s.api('PATCH', url, body, d.apiKey)
    assert.equal(bad.status, 400, JSON.stringify(body))
  }
  const got = await s.api('GET', url, undefined, d.apiKey)
  assert.deepEqual([got.body.name, got.body.retentionDays, got.body.allowedOrigins], ['Acme Ltd', 30, ['https://www.acme.test']])
  const other = await s.domain()
  assert.equal((await s.api('PATCH', url, { name: 'x' }, other.apiKey)).status, 404)
})

test('browser calls are answered for the allowed origins, or any origin while the list is empty', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const token = await s.token(d, 2)
  const path = `${s.httpUrl}/api/v1/domains/${d.id}/users/2`
  const preflight = (origin: string) => fetch(path, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } })
  const call = (origin: string) => fetch(path, { headers: { origin, authorization: `Bearer ${token}` } })

  let p = await preflight('https://anywhere.test')
  assert.equal(p.status, 204)
  assert.equal(p.headers.get('access-control-allow-origin'), 'https://anywhere.test')
  assert.match(p.headers.get('access-control-allow-headers') ?? '', /authorization/)
  assert.equal((await call('https://anywhere.test')).headers.get('access-control-allow-origin'), 'https://anywhere.test')

  await s.api('PATCH', `/api/v1/domains/${d.id}`, { allowedOrigins: ['https://www.acme.test'] }, d.apiKey)
  p = await preflight('https://www.acme.test')
  assert.equal(p.status, 204)
  assert.equal(p.headers.get('access-control-allow-origin'), 'https://www.acme.test')
  const ok = await call('https://www.acme.test')
  assert.equal(ok.status, 200)
  assert.equal(ok.headers.get('access-control-allow-origin'), 'https://www.acme.test')

  p = await preflight('https://evil.test')
  assert.equal(p.status, 403)
  assert.equal(p.headers.get('access-control-allow-origin'), null)
  const refused = await call('https://evil.test')
  assert.equal(refused.status, 403)
  assert.equal(((await refused.json()) as any).error.code, 'forbidden')
  // refused before it runs: a PUT from there changes nothing
  const put = await fetch(path, { method: 'PUT', headers: { origin: 'https://evil.test', authorization: `Bearer ${d.apiKey}`, 'content-type': 'application/json' }, body: '{"name":"pwned"}' })
  assert.equal(put.status, 403)
  assert.equal((await s.api('GET', `/api/v1/domains/${d.id}/users/2`, undefined, d.apiKey)).body.name, null)
  // mqchat's own pages (the admin panel) are same-origin
  const own = await fetch(path, { method: 'PUT', headers: { origin: s.httpUrl, authorization: `Bearer ${d.apiKey}`, 'content-type': 'application/json' }, body: '{"name":"Ada"}' })
  assert.equal(own.status, 200)
})

test('MQTT over WebSocket from an origin outside allowedOrigins is refused as not authorized', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const password = await s.token(d, 2)
  const ws = (origin: string) => connackCode(s.wsUrl, { username: `${d.id}/2`, password, wsOptions: { headers: { origin } } } as any)
  assert.equal(await ws('https://anywhere.test'), 0)
  await s.api('PATCH', `/api/v1/domains/${d.id}`, { allowedOrigins: ['https://www.acme.test'] }, d.apiKey)
  assert.equal(await ws('https://www.acme.test'), 0)
  assert.equal(await ws('https://evil.test'), 5)
  // TCP clients are not browsers: no Origin, no check
  assert.equal(await connackCode(s.mqttUrl, { username: `${d.id}/2`, password }), 0)
})
