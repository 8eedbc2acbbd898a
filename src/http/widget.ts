// The browser side of SPEC §9, served by the server itself: /client.js (the browser client),
// /widget.js (the loader a site's tag loads), /widget-ui.js (the conversation interface, loaded
// on first open), /sw.js (the service worker of web push, SPEC §10.1) and /stickers/*. Bundled
// with esbuild from client/ and widget/ once per process, in memory, on first need: nothing
// built is committed, and a fresh clone's `npm start` serves it.
import crypto from 'node:crypto'
import fs from 'node:fs'
import { build } from 'esbuild'
import { AppError } from '../errors.ts'
import { sendError } from './errors.ts'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

const ROOT = new URL('../../', import.meta.url)
const ENTRIES = {
  'client.js': 'client/index.ts',
  'widget.js': 'widget/loader.ts',
  'widget-ui.js': 'widget/ui.ts',
  // SPEC §10.1: the service worker that shows pushes (a classic script, as workers are)
  'sw.js': 'widget/sw.ts'
} as const
export type BundleName = keyof typeof ENTRIES

/**
 * Sites embed these files, and a site must get our updates: a browser keeps them 5 minutes, then
 * asks again with the ETag (304 when unchanged). They are public code, readable from any origin
 * (module scripts and dynamic import() are fetched with CORS).
 */
const CACHE_CONTROL = 'public, max-age=300, must-revalidate'

/**
 * The loader asks for the modules with `?v=<build>`, the build it was made with. The same
 * build is kept for a year (it never changes); another one means the page's loader is older
 * than this server (a deploy since the browser cached it): it gets this module instead, and
 * hands over to a fresh loader rather than run against an interface it does not know.
 */
const IMMUTABLE = 'public, max-age=31536000, immutable'
const STALE_MODULE = 'export const stale = true\n'

interface Built { body: Buffer, etag: string }
export interface Bundles {
  files: Map<string, Built>
  /** the build of /client.js and /widget-ui.js, which /widget.js is made with */
  build: string
}
let bundles: Promise<Bundles> | null = null

const hash = (b: Buffer, n: number): string => crypto.createHash('sha256').update(b).digest('base64url').slice(0, n)

async function bundle (name: string, entry: string, define: Record<string, string> = {}): Promise<Built> {
  const r = await build({
    entryPoints: [new URL(entry, ROOT).pathname],
    bundle: true,
    minify: true,
    // widget.js is a classic script (the tag has no type=module), and so is the service
    // worker (importScripts takes classic scripts); the others are modules.
    format: name === 'widget.js' || name === 'sw.js' ? 'iife' : 'esm',
    platform: 'browser',
    target: 'es2020',
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
    define
  })
  const body = Buffer.from(r.outputFiles[0]!.contents)
  return { body, etag: `"${hash(body, 22)}"` }
}

/** Every bundle, built once per process (about a second; later calls share the result). */
export function bundleAll (): Promise<Bundles> {
  bundles ??= (async () => {
    const [client, ui] = await Promise.all([bundle('client.js', ENTRIES['client.js']), bundle('widget-ui.js', ENTRIES['widget-ui.js'])])
    const build = hash(Buffer.concat([client.body, ui.body]), 12)
    const [loader, sw] = await Promise.all([bundle('widget.js', ENTRIES['widget.js'], { __MQCHAT_BUILD__: JSON.stringify(build) }), bundle('sw.js', ENTRIES['sw.js'])])
    return { files: new Map([['client.js', client], ['widget-ui.js', ui], ['widget.js', loader], ['sw.js', sw]]), build }
  })()
  bundles.catch(() => { bundles = null })
  return bundles
}

const STICKER_DIR = new URL('widget/stickers/', ROOT)
const JS = 'text/javascript; charset=utf-8'

function sendBuilt (req: FastifyRequest, reply: FastifyReply, f: Built, type: string, cacheControl = CACHE_CONTROL): FastifyReply {
  void reply.headers({
    'content-type': type,
    'cache-control': cacheControl,
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
    app.get<{ Querystring: { v?: string } }>(`/${name}`, { schema: { hide: true } }, async (req, reply) => {
      const { files, build } = await bundleAll()
      const f = files.get(name)!
      const v = name === 'widget.js' || name === 'sw.js' ? undefined : req.query.v
      if (v === undefined) return sendBuilt(req, reply, f, JS)
      if (v === build) return sendBuilt(req, reply, f, JS, IMMUTABLE)
      return sendBuilt(req, reply, { body: Buffer.from(STALE_MODULE), etag: '"stale"' }, JS, 'no-store')
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
    if (f === undefined) return sendError(reply, new AppError('not_found', 'no such sticker'))
    // An SVG of our own, still served as a sandboxed document should anyone open it directly.
    void reply.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox")
    return sendBuilt(req, reply, f, 'image/svg+xml')
  })
}
