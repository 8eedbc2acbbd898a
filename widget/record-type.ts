// Which format a voice record is made in: pure, tested with a table (test/client-logic.test.ts).

/**
 * A record format for MediaRecorder: MP4/AAC first (Safari plays it, and so do Chrome and
 * Firefox), then WebM/Opus (what Chrome and Firefox record when they cannot do MP4).
 */
export function recordType (supported: (t: string) => boolean): string {
  for (const t of ['audio/mp4;codecs=mp4a.40.2', 'audio/mp4', 'audio/webm;codecs=opus', 'audio/webm', 'audio/ogg;codecs=opus']) if (supported(t)) return t
  return ''
}
