// Words only the interface needs (loaded on first open, so the loader stays small); the rest,
// and the fixed names of SPEC §9, are in widget/i18n.ts.
import type { Lang } from '../i18n.ts'

const en = {
  play: 'Play voice message',
  pause: 'Pause',
  openPicture: 'Open the picture',
  noMessages: 'No messages yet. Say hello!',
  // SPEC §10.1: the opt-in to web push (a toggle button: its name stays, aria-pressed says on or off)
  notify: 'Notify me',
  notifyOff: 'Get a notification of new messages while this page is closed',
  notifyOn: 'Notifications are on: select to turn them off',
  notifyBlocked: 'Notifications are blocked for this site in your browser’s settings.',
  notifyFailed: 'Notifications could not be turned on. Try again later.'
}
export type UiStrings = typeof en

export const UI_STRINGS: Record<Lang, UiStrings> = {
  en,
  fr: {
    play: 'Écouter le message vocal',
    pause: 'Pause',
    openPicture: 'Ouvrir l’image',
    noMessages: 'Aucun message pour l’instant. Dites bonjour !',
    notify: 'M’avertir',
    notifyOff: 'Recevoir une notification des nouveaux messages quand cette page est fermée',
    notifyOn: 'Notifications activées : sélectionner pour les désactiver',
    notifyBlocked: 'Les notifications sont bloquées pour ce site dans les réglages du navigateur.',
    notifyFailed: 'Les notifications n’ont pas pu être activées. Réessayez plus tard.'
  },
  ar: {
    play: 'تشغيل الرسالة الصوتية',
    pause: 'إيقاف مؤقت',
    openPicture: 'فتح الصورة',
    noMessages: 'لا رسائل بعد. قل مرحبًا!',
    notify: 'نبّهني',
    notifyOff: 'تلقَّ إشعارًا بالرسائل الجديدة عندما تكون هذه الصفحة مغلقة',
    notifyOn: 'الإشعارات مفعّلة: اختر لإيقافها',
    notifyBlocked: 'الإشعارات محظورة لهذا الموقع في إعدادات المتصفح.',
    notifyFailed: 'تعذّر تفعيل الإشعارات. حاول لاحقًا.'
  }
}
