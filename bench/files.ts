// Files: "uploads/s of a 200 KB photo with its thumbnail, and the server's peak memory during
// 20 concurrent 10 MB uploads (aim: bounded by a few MB per upload, not by file size)."
//
// - The photo: a 200 KB JPEG made here with sharp (noise, so it does not compress to nothing),
//   with EXIF and an orientation to undo, as a phone's would be. Each upload is decoded,
//   turned upright, written again without metadata and thumbnailed, then stored on disk:
//   the whole path of a real upload. UPLOADS of them, CONCURRENCY at a time, through the
//   REST API with the domain key.
// - Memory: in a fresh server (so the photos' decoding leaves nothing to reuse), after one
//   warm-up upload, 20 uploads of a 10 MB record (an M4A container) at once; the server's resident
//   memory (VmRSS) is sampled every SAMPLE_MS from before the first byte to the last answer,
//   and its peak compared with the reading before. A server that held uploads in memory
//   would grow by 200 MB or more.
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import sharp from 'sharp'
import { m4a } from '../test/helpers/media.ts'
import { pool, sleep } from './clients.ts'
import { fixed, int, rssKb } from './measure.ts'
import { HOST } from './processes.ts'
import { MQCHAT_DOMAIN, startMqchat } from './targets.ts'

const PHOTO_BYTES = 200 * 1024
const UPLOADS = 300
const CONCURRENCY = Math.max(2, Math.min(8, os.cpus().length))
const WARMUP = 20
const BIG_UPLOADS = 20
const BIG_BYTES = 10_000_000
const SAMPLE_MS = 10

/** A noisy JPEG of about `bytes`, with EXIF (camera, GPS) and orientation 6. */
async function photo (bytes: number): Promise<Buffer> {
  const base = sharp({ create: { width: 1280, height: 960, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
  const raw = await base.raw().toBuffer({ resolveWithObject: true })
  let best: Buffer | null = null
  for (let q = 95; q >= 10; q -= 5) {
    const jpg = await sharp(raw.data, { raw: raw.info }).jpeg({ quality: q })
      .withExif({ IFD0: { Make: 'BenchCam' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 24/1' } })
      .withMetadata({ orientation: 6 }).toBuffer()
    best = jpg
    if (jpg.length <= bytes) break
  }
  return best!
}

export async function filesBench (): Promise<void> {
  const jpg = await photo(PHOTO_BYTES)
  console.log(`files: ${int(UPLOADS)} uploads of a ${int(jpg.length / 1024)} KB photo (1280 × 960, EXIF, orientation 6), ${CONCURRENCY} at a time; ` +
    `then ${BIG_UPLOADS} concurrent ${BIG_BYTES / 1e6} MB uploads and the server's peak memory`)
  const m = await startMqchat()
  try {
    const upload = uploader(m)
    await pool(Array.from({ length: WARMUP }), CONCURRENCY, () => upload(jpg, 'image/jpeg'))
    const t0 = performance.now()
    await pool(Array.from({ length: UPLOADS }), CONCURRENCY, () => upload(jpg, 'image/jpeg'))
    const seconds = (performance.now() - t0) / 1000
    console.log(`  photos: ${fixed(UPLOADS / seconds, 1)} uploads/s (${fixed(seconds * 1000 / UPLOADS * CONCURRENCY, 1)} ms each at ${CONCURRENCY} in flight), each cleaned and thumbnailed`)

  } finally {
    await m.stop()
  }
  await bigUploads()
}

/** Uploads one file to the bench domain of `m` with its key; throws unless 201. */
function uploader (m: { httpPort: number, apiKey: string }): (body: Buffer, type: string) => Promise<void> {
  const url = `http://${HOST}:${m.httpPort}/api/v1/domains/${MQCHAT_DOMAIN}/files`
  return async (body, type) => {
    const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${m.apiKey}`, 'content-type': type }, body })
    const text = await res.text()
    if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${text}`)
  }
}

async function bigUploads (): Promise<void> {
  const m = await startMqchat()
  try {
    const upload = uploader(m)
    const big = m4a(5000, BIG_BYTES - 200)
    await upload(big, 'audio/mp4')
    await sleep(500)
    const beforeKb = rssKb(m.child.pid)
    let peakKb = beforeKb
    const sampler = setInterval(() => { peakKb = Math.max(peakKb, rssKb(m.child.pid)) }, SAMPLE_MS)
    const t1 = performance.now()
    await Promise.all(Array.from({ length: BIG_UPLOADS }, () => upload(big, 'audio/mp4')))
    const bigSeconds = (performance.now() - t1) / 1000
    clearInterval(sampler)
    peakKb = Math.max(peakKb, rssKb(m.child.pid))
    const grownMb = (peakKb - beforeKb) / 1024
    console.log(`  ${BIG_UPLOADS} × ${BIG_BYTES / 1e6} MB at once: server RSS ${int(beforeKb / 1024)} MB → peak ${int(peakKb / 1024)} MB ` +
      `(+${fixed(grownMb, 1)} MB, ${fixed(grownMb / BIG_UPLOADS, 2)} MB per upload, for ${BIG_BYTES / 1e6} MB files), in ${fixed(bigSeconds, 2)} s`)
  } finally {
    await m.stop()
  }
}
