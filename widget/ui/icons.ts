// The interface's icons, inline SVG drawn in currentColor: no icon font, no emoji font (a
// system without one shows empty boxes for emoji glyphs). Each is decorative (aria-hidden):
// the button that holds it carries the name.
const PATHS = {
  close: 'M6 6l12 12M18 6L6 18',
  back: 'M15 5l-7 7 7 7',
  smile: 'M3 12a9 9 0 1018 0a9 9 0 10-18 0M8.5 14.5s1.2 1.8 3.5 1.8 3.5-1.8 3.5-1.8M9 9.5h.01M15 9.5h.01',
  sticker: 'M5 4h9l6 6v9a1 1 0 01-1 1H5a1 1 0 01-1-1V5a1 1 0 011-1zM14 4v5a1 1 0 001 1h5',
  clip: 'M20 11.5l-8.2 8.2a5 5 0 01-7.1-7.1l8.5-8.5a3.4 3.4 0 014.8 4.8l-8.5 8.5a1.7 1.7 0 01-2.4-2.4l7.8-7.8',
  camera: 'M4 8h3l2-3h6l2 3h3a1 1 0 011 1v9a1 1 0 01-1 1H4a1 1 0 01-1-1V9a1 1 0 011-1zM8.5 13a3.5 3.5 0 107 0a3.5 3.5 0 10-7 0',
  mic: 'M9 6a3 3 0 016 0v5a3 3 0 01-6 0zM5.5 11a6.5 6.5 0 0013 0M12 17.5V21',
  stop: 'M7 7h10v10H7z',
  send: 'M4 12L20 4l-4 16-4-6.5zM12 13.5L20 4',
  play: 'M8 5.5v13l10.5-6.5z',
  pause: 'M8 5v14M16 5v14',
  phone: 'M6.6 3.5h3l1.6 4.2-2 1.3a11 11 0 005.8 5.8l1.3-2 4.2 1.6v3a2 2 0 01-2 2A16.5 16.5 0 014.6 5.5a2 2 0 012-2z',
  video: 'M3.5 7h11a1 1 0 011 1v8a1 1 0 01-1 1h-11a1 1 0 01-1-1V8a1 1 0 011-1zM15.5 10.5l6-3.5v10l-6-3.5',
  videoOff: 'M3.5 7h11a1 1 0 011 1v8a1 1 0 01-1 1h-11a1 1 0 01-1-1V8a1 1 0 011-1zM15.5 10.5l6-3.5v10l-6-3.5M3 3l18 18',
  micOff: 'M9 6a3 3 0 016 0v5a3 3 0 01-6 0zM5.5 11a6.5 6.5 0 0013 0M12 17.5V21M3 3l18 18',
  hangUp: 'M2.5 14.5c5.2-5 13.8-5 19 0l-2.7 2.7-3.6-1.4v-2.6a11.5 11.5 0 00-6.4 0v2.6l-3.6 1.4z',
  check: 'M4.5 12.5l4.5 4.5L19.5 6.5',
  checks: 'M2 12.5l4.5 4.5L17 6.5M11 16l1 1L22.5 6.5',
  clock: 'M3 12a9 9 0 1018 0a9 9 0 10-18 0M12 7v5l3 2',
  alert: 'M3 12a9 9 0 1018 0a9 9 0 10-18 0M12 7.5v5M12 16.5h.01',
  chat: 'M4 5h16a1 1 0 011 1v10a1 1 0 01-1 1H9l-5 4V6a1 1 0 011-1z',
  bell: 'M6 16.5V11a6 6 0 0112 0v5.5l1.5 1.5h-15zM10 20.5a2 2 0 004 0'
} as const
export type IconName = keyof typeof PATHS

const NS = 'http://www.w3.org/2000/svg'

export function icon (name: IconName, size = 20): SVGSVGElement {
  const svg = document.createElementNS(NS, 'svg')
  for (const [k, v] of Object.entries({ viewBox: '0 0 24 24', width: String(size), height: String(size), fill: name === 'play' ? 'currentColor' : 'none', stroke: 'currentColor', 'stroke-width': '2', 'stroke-linecap': 'round', 'stroke-linejoin': 'round', 'aria-hidden': 'true', focusable: 'false', class: `icon icon-${name}` })) svg.setAttribute(k, v)
  const path = document.createElementNS(NS, 'path')
  path.setAttribute('d', PATHS[name])
  svg.append(path)
  return svg
}
