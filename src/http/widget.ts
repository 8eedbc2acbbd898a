// The browser side of SPEC §9, served by the server itself: /client.js (the browser client),
// /widget.js (the loader a site's tag loads), /widget-ui.js (the conversation interface, loaded
// on first open) and /stickers/*. Bundled with esbuild from client/ and widget/ once per process,
// in memory, on first need: nothing built is committed, and a fresh clone's `npm start` serves it.
import crypto from 'node:crypto'
import fs from 'node:fs'
import { build } from 'esbuild'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

const ROOT = new URL('../../', import.meta.url)
const ENTRIES = {
  'client.js': 'client/index.ts',
  'widget.js': 'widget/loader.ts',
  'widget-ui.js': 'widget/ui.ts'
} as const
export type BundleName = keyof typeof ENTRIES

/**
 * Sites embed these files, and a site must get our updates: a browser keeps them 5 minutes, then
 * asks again with the ETag (304 when unchanged). They are public code, readable from any origin
 * (module scripts and dynamic import() are fetched with CORS).
 */
const CACHE_CONTROL = 'public, max-age=300, must-revalidate'

interface Built { body: Buffer, etag: string }
let bundles: Promise<Map<string, Built>> | null = null

/** Every bundle, built once per process (about a second; later calls share the result). */
export function bundleAll (): Promise<Map<string, Built>> {
  bundles ??= (async () => {
    const out = new Map<string, Built>()
    await Promise.all(Object.entries(ENTRIES).map(async ([name, entry]) => {
      const r = await build({
        entryPoints: [new URL(entry, ROOT).pathname],
        bundle: true,
        minify: true,
        // widget.js is a classic script (the tag has no type=module); the others are modules.
        format: name === 'widget.js' ? 'iife' : 'esm',
        platform: 'browser',
        target: 'es2020',
        write: false,
        legalComments: 'none',
        logLevel: 'silent'
      })
      const body = Buffer.from(r.outputFiles[0]!.contents)
      out.set(name, { body, etag: `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` })
    }))
    return out
  })()
  bundles.catch(() => { bundles = null })
  return bundles
}

const STICKER_DIR = new URL('widget/stickers/', ROOT)

function sendBuilt (req: FastifyRequest, reply: FastifyReply, f: Built, type: string): FastifyReply {
  void reply.headers({
    'content-type': type,
    'cache-control': CACHE_CONTROL,
    etag: f.etag,
    'access-control-allow-origin': '*',
    'x-content-type-options': 'nosniff',
    'cross-origin-resource-policy': 'cross-origin'
  })
  if (req.headers['if-none-match'] === f.etag) return reply.status(304).send()
  return reply.send(f.body)
}

export function widgetRoutes (app: FastifyInstance): void {
  for (const name of Object.keys(ENTRIES)) {
    app.get(`/${name}`, { schema: { hide: true } }, async (req, reply) => {
      const f = (await bundleAll()).get(name)!
      return sendBuilt(req, reply, f, 'text/javascript; charset=utf-8')
    })
  }
  const stickers = new Map<string, Built>()
  for (const name of fs.existsSync(STICKER_DIR) ? fs.readdirSync(STICKER_DIR) : []) {
    if (!name.endsWith('.svg')) continue
    const body = fs.readFileSync(new URL(name, STICKER_DIR))
    stickers.set(name, { body, etag: `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` })
  }
  app.get('/stickers/', { schema: { hide: true } }, async (_req, reply) =>
    reply.headers({ 'access-control-allow-origin': '*', 'cache-control': CACHE_CONTROL }).send({ stickers: [...stickers.keys()] }))
  app.get<{ Params: { name: string } }>('/stickers/:name', { schema: { hide: true } }, async (req, reply) => {
    const f = stickers.get(req.params.name)
    if (f === undefined) return reply.status(404).send({ error: { code: 'not_found', message: 'no such sticker' } })
    // An SVG of our own, still served as a sandboxed document should anyone open it directly.
    void reply.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox")
    return sendBuilt(req, reply, f, 'image/svg+xml')
  })
}
