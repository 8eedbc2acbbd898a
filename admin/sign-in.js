// The sign-in form: a domain key or the operator key.
import { forgetKey, saveKey } from './api.js'
import { busy, clear, h } from './dom.js'

const app = document.getElementById('app')

/** Shows the form; `signIn()` is tried with the key typed, which is kept only if it works. */
export function signInPage (signIn, message) {
  const input = h('input', { id: 'api-key', type: 'password', class: 'key', autocomplete: 'off', required: true, spellcheck: 'false' })
  const error = h('p', { class: 'error', role: 'alert' }, message ?? '')
  const form = h('form', {
    onsubmit: async (e) => {
      e.preventDefault()
      const button = form.querySelector('button')
      await busy(button, async () => {
        saveKey(input.value.trim())
        try {
          await signIn()
        } catch (err) {
          forgetKey()
          throw err.status === 401 ? new Error('This key is not known: check it and try again.') : err
        }
      }, error)
    }
  },
  h('div', { class: 'field' }, h('label', { for: 'api-key' }, 'API key'), input),
  h('p', { class: 'muted' }, 'A domain key manages that domain\'s callbacks; the operator key can also list and create domains.'),
  error,
  h('button', { type: 'submit' }, 'Sign in'))
  clear(app, h('section', { 'aria-labelledby': 'signin-h' }, h('h1', { id: 'signin-h' }, 'Sign in'), form))
  input.focus()
}
