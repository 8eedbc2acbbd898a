// Words only the interface needs (loaded on first open, so the loader stays small); the rest,
// and the fixed names of SPEC §9, are in widget/i18n.ts. The call's names of SPEC §10.2 (Call,
// Video call, Incoming call, Accept, Decline, Mute, Camera, Hang up) are the `en` ones here.
import type { Lang } from '../i18n.ts'

/** m:ss (or h:mm:ss) of a number of seconds */
export const clock = (s: number): string => {
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const ss = String(Math.floor(s % 60)).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

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
  notifyFailed: 'Notifications could not be turned on. Try again later.',
  // calls (SPEC §10.2)
  call: 'Call',
  videoCall: 'Video call',
  incomingCall: 'Incoming call',
  accept: 'Accept',
  decline: 'Decline',
  mute: 'Mute',
  camera: 'Camera',
  hangUp: 'Hang up',
  callWith: (name: string) => `Call with ${name}`,
  calling: 'Calling…',
  connecting: 'Connecting…',
  callsYou: (name: string, video: boolean) => video ? `${name} is video calling you` : `${name} is calling you`,
  /** why a call ended, as the person who sees it is told */
  callEnded: (reason: string) => ({
    hangup: 'Call ended',
    declined: 'Call declined',
    missed: 'No answer',
    'missed-incoming': 'Missed call',
    busy: 'Busy',
    'answered-elsewhere': 'Answered on another device',
    failed: 'The call was lost',
    media: 'No camera or microphone can be used',
    blocked: 'This person cannot be called',
    forbidden: 'This person cannot be called',
    rate_limited: 'Too many calls: try again in a moment'
  } as Record<string, string>)[reason] ?? 'Call ended',
  /** a type 5 record in the conversation */
  callLine: (message: string, video: boolean, seconds: number | null) =>
    message === 'started' ? (video ? 'Video call started' : 'Call started')
      : message === 'missed' ? (video ? 'Missed video call' : 'Missed call')
        : message === 'ended' ? `${video ? 'Video call ended' : 'Call ended'}${seconds === null ? '' : ` · ${clock(seconds)}`}`
          : (video ? 'Video call' : 'Call')
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
    notifyFailed: 'Les notifications n’ont pas pu être activées. Réessayez plus tard.',
    call: 'Appeler',
    videoCall: 'Appel vidéo',
    incomingCall: 'Appel entrant',
    accept: 'Accepter',
    decline: 'Refuser',
    mute: 'Couper le micro',
    camera: 'Caméra',
    hangUp: 'Raccrocher',
    callWith: (name) => `Appel avec ${name}`,
    calling: 'Appel en cours…',
    connecting: 'Connexion…',
    callsYou: (name, video) => video ? `${name} vous appelle en vidéo` : `${name} vous appelle`,
    callEnded: (reason) => ({
      hangup: 'Appel terminé',
      declined: 'Appel refusé',
      missed: 'Pas de réponse',
      'missed-incoming': 'Appel manqué',
      busy: 'Occupé',
      'answered-elsewhere': 'Répondu sur un autre appareil',
      failed: 'L’appel a été perdu',
      media: 'Aucune caméra ni aucun micro utilisable',
      blocked: 'Cette personne ne peut pas être appelée',
      forbidden: 'Cette personne ne peut pas être appelée',
      rate_limited: 'Trop d’appels : réessayez dans un instant'
    } as Record<string, string>)[reason] ?? 'Appel terminé',
    callLine: (message, video, seconds) =>
      message === 'started' ? (video ? 'Appel vidéo commencé' : 'Appel commencé')
        : message === 'missed' ? (video ? 'Appel vidéo manqué' : 'Appel manqué')
          : message === 'ended' ? `${video ? 'Appel vidéo terminé' : 'Appel terminé'}${seconds === null ? '' : ` · ${clock(seconds)}`}`
            : (video ? 'Appel vidéo' : 'Appel')
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
    notifyFailed: 'تعذّر تفعيل الإشعارات. حاول لاحقًا.',
    call: 'اتصال',
    videoCall: 'مكالمة فيديو',
    incomingCall: 'مكالمة واردة',
    accept: 'قبول',
    decline: 'رفض',
    mute: 'كتم الصوت',
    camera: 'الكاميرا',
    hangUp: 'إنهاء المكالمة',
    callWith: (name) => `مكالمة مع ${name}`,
    calling: 'جارٍ الاتصال…',
    connecting: 'جارٍ التوصيل…',
    callsYou: (name, video) => video ? `${name} يتصل بك بالفيديو` : `${name} يتصل بك`,
    callEnded: (reason) => ({
      hangup: 'انتهت المكالمة',
      declined: 'رُفضت المكالمة',
      missed: 'لا رد',
      'missed-incoming': 'مكالمة فائتة',
      busy: 'مشغول',
      'answered-elsewhere': 'تم الرد على جهاز آخر',
      failed: 'انقطعت المكالمة',
      media: 'لا توجد كاميرا أو ميكروفون صالح للاستخدام',
      blocked: 'لا يمكن الاتصال بهذا الشخص',
      forbidden: 'لا يمكن الاتصال بهذا الشخص',
      rate_limited: 'مكالمات كثيرة: حاول بعد قليل'
    } as Record<string, string>)[reason] ?? 'انتهت المكالمة',
    callLine: (message, video, seconds) =>
      message === 'started' ? (video ? 'بدأت مكالمة فيديو' : 'بدأت مكالمة')
        : message === 'missed' ? (video ? 'مكالمة فيديو فائتة' : 'مكالمة فائتة')
          : message === 'ended' ? `${video ? 'انتهت مكالمة الفيديو' : 'انتهت المكالمة'}${seconds === null ? '' : ` · ${clock(seconds)}`}`
            : (video ? 'مكالمة فيديو' : 'مكالمة')
  }
}
