// What an upload is, judged by its bytes alone (SPEC §8): never by its name or the type the
// client declared. `file-type` reads the magic numbers and container headers; only the
// pictures and records of §8 pass, everything else (SVG, HTML, archives, video…) is refused.
import { fileTypeFromFile } from 'file-type'

export type FileKind = 'picture' | 'record'

export interface Sniffed {
  kind: FileKind
  /** the type it is stored and served with */
  contentType: string
  /** the file name extension we give it in Content-Disposition */
  ext: string
}

/**
 * file-type's answer (its `ext`) → ours. Containers that hold sound as often as video
 * (WebM, Ogg, MP4) are reported by file-type under their video type: a browser's
 * MediaRecorder writes them, and they are stored as the audio type §8 names.
 */
const ACCEPTED: Record<string, Sniffed> = {
  jpg: { kind: 'picture', contentType: 'image/jpeg', ext: 'jpg' },
  png: { kind: 'picture', contentType: 'image/png', ext: 'png' },
  gif: { kind: 'picture', contentType: 'image/gif', ext: 'gif' },
  webp: { kind: 'picture', contentType: 'image/webp', ext: 'webp' },
  webm: { kind: 'record', contentType: 'audio/webm', ext: 'webm' },
  ogg: { kind: 'record', contentType: 'audio/ogg', ext: 'ogg' },
  oga: { kind: 'record', contentType: 'audio/ogg', ext: 'ogg' },
  opus: { kind: 'record', contentType: 'audio/ogg', ext: 'ogg' },
  m4a: { kind: 'record', contentType: 'audio/mp4', ext: 'm4a' },
  mp4: { kind: 'record', contentType: 'audio/mp4', ext: 'm4a' },
  mp3: { kind: 'record', contentType: 'audio/mpeg', ext: 'mp3' }
}

/** Ours for file-type's `ext`, or null when §8 does not accept it. Pure: tested with a table. */
export function acceptedKind (ext: string | undefined): Sniffed | null {
  return ext !== undefined && Object.hasOwn(ACCEPTED, ext) ? ACCEPTED[ext]! : null
}

/** Sniffs a file on disk (file-type reads only the headers it needs). */
export async function sniffFile (file: string): Promise<Sniffed | null> {
  const found = await fileTypeFromFile(file)
  return acceptedKind(found?.ext)
}
