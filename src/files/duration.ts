// A record's length, where its container says it (SPEC §8): MP4 (`moov/mvhd`) and Ogg (the
// last page's granule position). WebM from a browser's MediaRecorder and MP3 do not carry it
// reliably in their headers: null. Reads a few small pieces of the file, never all of it.
import fs from 'node:fs/promises'

/** Ogg pages are at most ~64 KiB: the last one starts within this many bytes of the end. */
const OGG_TAIL_BYTES = 65_307 + 1024

export async function recordDurationMs (file: string, contentType: string): Promise<number | null> {
  const fh = await fs.open(file, 'r')
  try {
    const size = (await fh.stat()).size
    if (contentType === 'audio/mp4') return await mp4Duration(fh, size)
    if (contentType === 'audio/ogg') return await oggDuration(fh, size)
    return null
  } catch {
    return null
  } finally {
    await fh.close()
  }
}

async function read (fh: fs.FileHandle, at: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length)
  const { bytesRead } = await fh.read(buf, 0, length, at)
  return buf.subarray(0, bytesRead)
}

/** Walks boxes from `start` to `end` looking for `type`; answers its body's offset and end. */
async function findBox (fh: fs.FileHandle, start: number, end: number, type: string): Promise<[number, number] | null> {
  let at = start
  while (at + 8 <= end) {
    const h = await read(fh, at, 16)
    if (h.length < 8) return null
    let size = h.readUInt32BE(0)
    let header = 8
    if (size === 1) { size = Number(h.readBigUInt64BE(8)); header = 16 } else if (size === 0) size = end - at
    if (size < header) return null
    if (h.toString('latin1', 4, 8) === type) return [at + header, Math.min(at + size, end)]
    at += size
  }
  return null
}

async function mp4Duration (fh: fs.FileHandle, size: number): Promise<number | null> {
  const moov = await findBox(fh, 0, size, 'moov')
  if (moov === null) return null
  const mvhd = await findBox(fh, moov[0], moov[1], 'mvhd')
  if (mvhd === null) return null
  const b = await read(fh, mvhd[0], 32)
  const version = b[0]
  const [timescale, duration] = version === 1
    ? [b.readUInt32BE(20), Number(b.readBigUInt64BE(24))]
    : [b.readUInt32BE(12), b.readUInt32BE(16)]
  return timescale > 0 ? Math.round(duration * 1000 / timescale) : null
}

async function oggDuration (fh: fs.FileHandle, size: number): Promise<number | null> {
  const head = await read(fh, 0, 128)
  // The first page holds the codec's id header: OpusHead (48 kHz, minus the pre-skip) or Vorbis.
  const opus = head.indexOf('OpusHead', 0, 'latin1')
  const vorbis = head.indexOf('\x01vorbis', 0, 'latin1')
  let rate: number
  let skip = 0
  if (opus >= 0) { rate = 48_000; skip = head.readUInt16LE(opus + 10) } else if (vorbis >= 0) rate = head.readUInt32LE(vorbis + 12)
  else return null
  const tailAt = Math.max(0, size - OGG_TAIL_BYTES)
  const tail = await read(fh, tailAt, size - tailAt)
  const last = tail.lastIndexOf('OggS', tail.length, 'latin1')
  if (last < 0 || last + 14 > tail.length) return null
  const granule = Number(tail.readBigInt64LE(last + 6))
  return rate > 0 && granule > 0 ? Math.round(Math.max(0, granule - skip) * 1000 / rate) : null
}
