// Pictures (SPEC §8): decoded and written again with sharp, so that what we store is what a
// decoder made of it, never the bytes a user chose: turned upright by its EXIF orientation,
// its metadata (EXIF, GPS, XMP, comments) left behind, in the format it came in; plus a
// thumbnail. A picture over 40 megapixels is refused from its header, before any decoding.
import sharp from 'sharp'
import { AppError } from '../errors.ts'

/** SPEC §8: more than this many pixels is refused (a decompression bomb costs 4 bytes a pixel). */
export const MAX_PICTURE_PIXELS = 40_000_000
/** SPEC §8: a thumbnail's longer side. */
export const THUMBNAIL_MAX_PX = 320
/** Re-encoding lossy formats: high enough that a photo does not visibly degrade. */
const LOSSY_QUALITY = 90

// libvips's operation cache keeps decoded pictures around for reuse we never make: off, so
// memory stays bounded by the pictures being processed.
sharp.cache(false)

export interface Picture {
  width: number
  height: number
  /** bytes of the file written */
  size: number
  thumbnail: Buffer
}

type Format = 'jpeg' | 'png' | 'gif' | 'webp'
const FORMAT_OF: Record<string, Format> = { 'image/jpeg': 'jpeg', 'image/png': 'png', 'image/gif': 'gif', 'image/webp': 'webp' }

/** Reads the picture at `input`, writes the clean one to `output`; answers its size and thumbnail. */
export async function processPicture (input: string, output: string, contentType: string): Promise<Picture> {
  const format = FORMAT_OF[contentType]
  if (format === undefined) throw new Error(`not a picture type: ${contentType}`)
  let meta: sharp.Metadata
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata()
  } catch {
    throw unreadable()
  }
  if (meta.format !== format) throw unreadable()
  const pages = meta.pages ?? 1
  const pixels = (meta.width ?? 0) * (meta.height ?? 0) * pages
  if (pixels > MAX_PICTURE_PIXELS) {
    throw new AppError('too_large', `the picture has ${meta.width} × ${meta.height}${pages > 1 ? ` × ${pages} frames` : ''} pixels; at most ${MAX_PICTURE_PIXELS / 1e6} megapixels are accepted`)
  }
  const animated = pages > 1 && (format === 'gif' || format === 'webp')
  let info: sharp.OutputInfo
  try {
    // failOn 'warning': a truncated or damaged picture is refused, not stored half grey.
    const img = sharp(input, { limitInputPixels: MAX_PICTURE_PIXELS, failOn: 'warning', animated })
      .rotate() // by EXIF orientation; the orientation tag goes with the rest of the metadata
    info = await encode(img, format).toFile(output)
  } catch (err) {
    if ((err as Error).message?.includes('pixel limit')) throw new AppError('too_large', `at most ${MAX_PICTURE_PIXELS / 1e6} megapixels are accepted`)
    throw unreadable()
  }
  const thumbnail = await encode(sharp(output, { failOn: 'none' })
    .resize(THUMBNAIL_MAX_PX, THUMBNAIL_MAX_PX, { fit: 'inside', withoutEnlargement: true }), format).toBuffer()
  return { width: info.width, height: animated ? (info.pageHeight ?? info.height) : info.height, size: info.size, thumbnail }
}

function encode (img: sharp.Sharp, format: Format): sharp.Sharp {
  switch (format) {
    case 'jpeg': return img.jpeg({ quality: LOSSY_QUALITY, mozjpeg: false })
    case 'webp': return img.webp({ quality: LOSSY_QUALITY })
    case 'png': return img.png()
    case 'gif': return img.gif()
  }
}

const unreadable = (): AppError => new AppError('unsupported_media_type', 'the picture cannot be decoded (truncated, damaged, or not the picture its first bytes claim)')
