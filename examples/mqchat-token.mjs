// mqchat-token.mjs: your site's token endpoint for the chat widget, in Node with no library
// (docs/client.md, "The token endpoint"). It answers the signed-in visitor's token, {"token":"…"}: an
// HS256 JWT signed with your domain's tokenSecret. The user id comes from YOUR session, never
// from the page. With Express: app.get('/mqchat-token', (req, res) => { … })
import crypto from 'node:crypto'

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

/** A token for one user of one domain (profile: optional name, picture, profile URL). */
export function mqchatToken ({ domain, userid, secret, ttlSeconds = 3600, profile = {} }) {
  const header = b64({ alg: 'HS256', typ: 'JWT' })
  const claims = b64({ sub: String(userid), aud: domain, exp: Math.floor(Date.now() / 1000) + ttlSeconds, ...profile })
  const signature = crypto.createHmac('sha256', secret).update(`${header}.${claims}`).digest('base64url')
  return `${header}.${claims}.${signature}`
}

// The endpoint itself, for any Node HTTP framework: `user` is whoever your session says.
export function tokenEndpoint (req, res, user) {
  if (user == null) { res.statusCode = 401; res.end(); return }
  const token = mqchatToken({
    domain: process.env.MQCHAT_DOMAIN,
    userid: user.id,
    secret: process.env.MQCHAT_TOKEN_SECRET,
    profile: { name: user.name }
  })
  res.setHeader('content-type', 'application/json')
  res.setHeader('cache-control', 'no-store')
  res.end(JSON.stringify({ token }))
}
