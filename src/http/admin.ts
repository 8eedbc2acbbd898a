// The admin panel (SPEC §5): static files from admin/, served as they are (no build step),
// at `/` of the HTTP port. A strict Content-Security-Policy backs up the panel's own rule of
// putting user text in the page as text: no inline script, nothing from elsewhere.
import fs from 'node:fs'
import type { FastifyInstance } from 'fastify'

const ADMIN_DIR = new URL('../../admin/', import.meta.url)
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml'
}
const HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; media-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache'
}

export function adminRoutes (app: FastifyInstance): void {
  // Read once: a handful of small files.
  const files = new Map<string, { type: string, body: Buffer }>()
  for (const name of fs.readdirSync(ADMIN_DIR)) {
    const ext = name.slice(name.lastIndexOf('.'))
    if (TYPES[ext] !== undefined) files.set(name, { type: TYPES[ext]!, body: fs.readFileSync(new URL(name, ADMIN_DIR)) })
  }
  const send = (name: string) => async (_req: unknown, reply: import('fastify').FastifyReply) => {
    const f = files.get(name)!
    return reply.headers(HEADERS).type(f.type).send(f.body)
  }
  app.get('/', { schema: { hide: true } }, send('index.html'))
  for (const name of files.keys()) app.get(`/admin/${name}`, { schema: { hide: true } }, send(name))
}
