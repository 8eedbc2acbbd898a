// The widget's words in en, fr and ar (SPEC §9). The fixed accessible names of §9 (Chat,
// Contacts, Message, Send, Attach, Read) are the `en` ones; outside checks run in English.
export type Lang = 'en' | 'fr' | 'ar'

const en = {
  chat: 'Chat',
  unread: (n: number) => n === 1 ? '1 unread message' : `${n} unread messages`,
  contacts: 'Contacts',
  close: 'Close',
  back: 'Back to contacts',
  message: 'Message',
  send: 'Send',
  attach: 'Attach',
  camera: 'Take a picture',
  takePhoto: 'Capture',
  cancel: 'Cancel',
  record: 'Record a voice message',
  stopRecord: 'Stop and send the recording',
  emoji: 'Emoji',
  stickers: 'Stickers',
  sticker: 'Sticker',
  picture: 'Picture',
  voice: 'Voice message',
  call: 'Call',
  read: 'Read',
  sent: 'Sent',
  sending: 'Sending',
  failed: 'Not sent',
  older: 'Load older messages',
  moreOnline: 'More people online',
  noContacts: 'Nobody to chat with yet.',
  offline: 'You are offline. Messages you write will be sent when the connection returns.',
  connecting: 'Connecting…',
  typing: (name: string) => `${name} is typing…`,
  newMessage: (name: string, text: string) => `New message from ${name}: ${text}`,
  status: { online: 'online', away: 'away', busy: 'busy', offline: 'offline' } as Record<string, string>,
  user: (id: number) => `User ${id}`,
  you: 'You',
  uploadFailed: 'The file could not be sent.'
}
export type Strings = typeof en

const fr: Strings = {
  ...en,
  chat: 'Chat',
  unread: (n) => n === 1 ? '1 message non lu' : `${n} messages non lus`,
  contacts: 'Contacts',
  close: 'Fermer',
  back: 'Retour aux contacts',
  message: 'Message',
  send: 'Envoyer',
  attach: 'Joindre',
  camera: 'Prendre une photo',
  takePhoto: 'Déclencher',
  cancel: 'Annuler',
  record: 'Enregistrer un message vocal',
  stopRecord: 'Arrêter et envoyer l’enregistrement',
  emoji: 'Émoji',
  stickers: 'Autocollants',
  sticker: 'Autocollant',
  picture: 'Image',
  voice: 'Message vocal',
  call: 'Appel',
  read: 'Lu',
  sent: 'Envoyé',
  sending: 'Envoi',
  failed: 'Non envoyé',
  older: 'Charger les messages précédents',
  moreOnline: 'Plus de personnes en ligne',
  noContacts: 'Personne avec qui discuter pour l’instant.',
  offline: 'Vous êtes hors ligne. Vos messages partiront au retour de la connexion.',
  connecting: 'Connexion…',
  typing: (name) => `${name} écrit…`,
  newMessage: (name, text) => `Nouveau message de ${name} : ${text}`,
  status: { online: 'en ligne', away: 'absent', busy: 'occupé', offline: 'hors ligne' },
  user: (id) => `Utilisateur ${id}`,
  you: 'Vous',
  uploadFailed: 'Le fichier n’a pas pu être envoyé.'
}

const ar: Strings = {
  ...en,
  chat: 'دردشة',
  unread: (n) => `${n} رسائل غير مقروءة`,
  contacts: 'جهات الاتصال',
  close: 'إغلاق',
  back: 'العودة إلى جهات الاتصال',
  message: 'رسالة',
  send: 'إرسال',
  attach: 'إرفاق',
  camera: 'التقاط صورة',
  takePhoto: 'التقاط',
  cancel: 'إلغاء',
  record: 'تسجيل رسالة صوتية',
  stopRecord: 'إيقاف التسجيل وإرساله',
  emoji: 'رموز تعبيرية',
  stickers: 'ملصقات',
  sticker: 'ملصق',
  picture: 'صورة',
  voice: 'رسالة صوتية',
  call: 'مكالمة',
  read: 'مقروءة',
  sent: 'أُرسلت',
  sending: 'جارٍ الإرسال',
  failed: 'لم تُرسل',
  older: 'تحميل الرسائل الأقدم',
  moreOnline: 'المزيد من المتصلين',
  noContacts: 'لا أحد للدردشة معه بعد.',
  offline: 'أنت غير متصل. ستُرسل رسائلك عند عودة الاتصال.',
  connecting: 'جارٍ الاتصال…',
  typing: (name) => `${name} يكتب…`,
  newMessage: (name, text) => `رسالة جديدة من ${name}: ${text}`,
  status: { online: 'متصل', away: 'بعيد', busy: 'مشغول', offline: 'غير متصل' },
  user: (id) => `مستخدم ${id}`,
  you: 'أنت',
  uploadFailed: 'تعذّر إرسال الملف.'
}

export const STRINGS: Record<Lang, Strings> = { en, fr, ar }

/** data-lang, else the page's lang, else en. */
export function pickLang (attr: string | null | undefined, pageLang: string | null | undefined): Lang {
  for (const v of [attr, pageLang]) {
    const l = (v ?? '').toLowerCase().split('-')[0]
    if (l === 'en' || l === 'fr' || l === 'ar') return l
  }
  return 'en'
}
