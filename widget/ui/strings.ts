// Words only the interface needs (loaded on first open, so the loader stays small); the rest,
// and the fixed names of SPEC §9, are in widget/i18n.ts.
import type { Lang } from '../i18n.ts'

const en = {
  play: 'Play voice message',
  pause: 'Pause',
  openPicture: 'Open the picture',
  noMessages: 'No messages yet. Say hello!'
}
export type UiStrings = typeof en

export const UI_STRINGS: Record<Lang, UiStrings> = {
  en,
  fr: {
    play: 'Écouter le message vocal',
    pause: 'Pause',
    openPicture: 'Ouvrir l’image',
    noMessages: 'Aucun message pour l’instant. Dites bonjour !'
  },
  ar: {
    play: 'تشغيل الرسالة الصوتية',
    pause: 'إيقاف مؤقت',
    openPicture: 'فتح الصورة',
    noMessages: 'لا رسائل بعد. قل مرحبًا!'
  }
}
