// Real pictures and hostile files for the upload tests, made here (with sharp, or byte by
// byte), never checked in.
import { crc32 } from 'node:zlib'
import zlib from 'node:zlib'
import sharp from 'sharp'

/**
 * A 400 × 200 JPEG, left half red and right half blue, whose EXIF says "turn me 90° clockwise"
 * (orientation 6), with a camera make and a GPS position: upright it is 200 × 400, red on top.
 */
export async function photoWithExif (): Promise<Buffer> {
  const half = (color: string) => sharp({ create: { width: 200, height: 200, channels: 3, background: color } }).png().toBuffer()
  return sharp({ create: { width: 400, height: 200, channels: 3, background: '#000000' } })
    .composite([{ input: await half('#ff0000'), left: 0, top: 0 }, { input: await half('#0000ff'), left: 200, top: 0 }])
    .jpeg({ quality: 95 })
    .withExif({ IFD0: { Make: 'TestCam', Model: 'Secret Model' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 24/1', GPSLongitudeRef: 'E', GPSLongitude: '2/1 21/1 3/1' } })
    .withMetadata({ orientation: 6 })
    .toBuffer()
}

/** EXIF's GPSInfo tag (0x8825), as it appears in a little-endian TIFF header. */
export const GPS_TAG_LE = Buffer.from([0x25, 0x88])

export async function png (width: number, height: number, color = '#33aa55'): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: color } }).png().toBuffer()
}

/** A two-frame animation (red, then blue) of 60 × 40, as GIF or WebP. */
export async function animation (format: 'gif' | 'webp'): Promise<Buffer> {
  const frame = (color: string) => sharp({ create: { width: 60, height: 40, channels: 3, background: color } }).png().toBuffer()
  const joined = sharp([await frame('#ff0000'), await frame('#0000ff')], { join: { animated: true } })
  return (format === 'gif' ? joined.gif() : joined.webp()).toBuffer()
}

function chunk (type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([len, body, crc])
}

/**
 * A real, complete grey PNG of `width` × `height` pixels whose IDAT is all zeros: a few
 * hundred KB that decode to width × height bytes (a decompression bomb: 20,000 × 20,000 is
 * 400 MB of pixels, 1.2 GB as RGB).
 */
export async function bombPng (width: number, height: number): Promise<Buffer> {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 0 // greyscale
  // Level 1: a few times larger than level 9 (still far under the upload limit), a quarter of
  // the CPU, which the tests running beside this one need.
  const deflate = zlib.createDeflate({ level: 1 })
  const out: Buffer[] = []
  deflate.on('data', (c: Buffer) => out.push(c))
  const done = new Promise((resolve) => deflate.on('end', resolve))
  // Rows are filter byte 0 then the row's pixels, all zero: written 100 rows at a time.
  const ROWS = 100
  const rows = Buffer.alloc((width + 1) * ROWS)
  for (let y = 0; y < height; y += ROWS) {
    const chunk = y + ROWS <= height ? rows : rows.subarray(0, (width + 1) * (height - y))
    if (!deflate.write(chunk)) await new Promise((resolve) => deflate.once('drain', resolve))
  }
  deflate.end()
  await done
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', Buffer.concat(out)), chunk('IEND', Buffer.alloc(0))])
}

/** A small PNG with a zTXt chunk that inflates to `inflated` bytes of text (a bomb in a metadata chunk). */
export async function pngWithTextBomb (inflated: number): Promise<Buffer> {
  const base = await png(16, 16)
  const text = zlib.deflateSync(Buffer.alloc(inflated, 0x41), { level: 1 })
  const ztxt = chunk('zTXt', Buffer.concat([Buffer.from('Comment\0\0', 'latin1'), text]))
  const iend = base.length - 12
  return Buffer.concat([base.subarray(0, iend), ztxt, base.subarray(iend)])
}

function box (type: string, ...body: Buffer[]): Buffer {
  const content = Buffer.concat(body)
  const head = Buffer.alloc(8)
  head.writeUInt32BE(8 + content.length)
  head.write(type, 4, 'latin1')
  return Buffer.concat([head, content])
}

/**
 * An M4A container (as Safari's MediaRecorder writes) whose movie header says it lasts
 * `durationMs`: ftyp, an mdat of `payloadBytes`, then moov/mvhd at the end.
 */
export function m4a (durationMs: number, payloadBytes = 64 * 1024): Buffer {
  const ftyp = box('ftyp', Buffer.from('M4A \0\0\0\0M4A mp42isom', 'latin1'))
  const mvhd = Buffer.alloc(100)
  mvhd.writeUInt32BE(0, 0) // version 0, flags
  mvhd.writeUInt32BE(1000, 12) // timescale: ms
  mvhd.writeUInt32BE(durationMs, 16)
  const payload = Buffer.alloc(payloadBytes)
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff
  return Buffer.concat([ftyp, box('mdat', payload), box('moov', box('mvhd', mvhd))])
}
