// A domain's "Chat on your site" section: the one tag to paste into the site's pages
// (SPEC §9), with this server's address, and what the site's token endpoint must answer.
import { copy, h } from './dom.js'

export function embedSection (domain) {
  // The panel is served by mqchat itself: its address is the one browsers reach it by.
  const tag = `<script src="${location.origin}/widget.js" data-domain="${domain.id}" data-token-url="/mqchat-token" async></script>`
  const button = h('button', { type: 'button', class: 'secondary', 'aria-label': 'Copy the tag', onclick: () => copy(tag, button) }, 'Copy')
  return h('section', { 'aria-labelledby': 'embed-h' },
    h('h2', { id: 'embed-h' }, 'Chat on your site'),
    h('p', {}, 'Paste this tag into your site\'s pages, before </body>:'),
    h('pre', {}, h('code', { id: 'embed-tag' }, tag)),
    button,
    h('p', { class: 'muted' },
      'Your site answers /mqchat-token with {"token":"…"} for the signed-in visitor: a token signed with this domain\'s token secret ',
      '(docs/client.md in mqchat\'s repository, "The token endpoint", has it in PHP and in Node). ',
      'Add data-lang="fr" or "ar" for another language, data-layout="embedded" with data-target="#chat" to place it in your page.'))
}
