// The mqchat admin panel: native ES modules, no build step (src/http/admin.ts serves every
// file of admin/ as it is). This one starts it: sign-in or the signed-in pages, the top bar,
// signing out.
//   api.js            the REST API with the signed-in key
//   dom.js            building the page (user text always as text)
//   sign-in.js        the sign-in form
//   domains.js        the operator's domains, a domain's page and its timed refresh
//   callback-form.js  one callback: settings, signing secret, test, replay
//   logs.js           a callback's delivery logs
//   embed.js          the widget's tag to paste into a site
import { api, forgetKey, onUnauthorized, savedKey } from './api.js'
import { clear, h, say } from './dom.js'
import { domainPage, leave, operatorPage, showing } from './domains.js'
import { signInPage } from './sign-in.js'

const who = document.getElementById('who')

/** What the signed-in pages need from here: the top bar. */
const shell = { header }

function header (me, extra = []) {
  clear(who,
    h('span', {}, me.kind === 'operator' ? 'Operator' : `${me.domain.name} (${me.domain.id})`),
    ...extra,
    h('button', { type: 'button', class: 'secondary', onclick: () => signOut() }, 'Sign out'))
}

function showSignIn (message) {
  leave()
  clear(who)
  signInPage(start, message)
}

function signOut (message) {
  forgetKey()
  say('')
  showSignIn(message)
}

async function start () {
  const me = await api('GET', '/me')
  say('')
  if (me.kind === 'operator') {
    const open = location.hash.startsWith('#domain=') ? decodeURIComponent(location.hash.slice(8)) : null
    if (open) await domainPage(shell, me, open)
    else await operatorPage(shell, me)
  } else {
    await domainPage(shell, me, me.domain.id)
  }
}

// A key that stops working while signed in: back to the form, saying why. (On the form
// itself, a refused key is the form's own error.)
onUnauthorized(() => { if (showing()) signOut('Your key is not valid any more: sign in again.') })

if (savedKey()) {
  start().catch((err) => signOut(err.status === 401 ? 'Your key is not valid any more: sign in again.' : err.message))
} else {
  showSignIn()
}
