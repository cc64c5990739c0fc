/*
 * reset.js: "Choose a new password" (reset.html?token=..., the link of
 * the reset mail).  Owns the reset: the token is taken from the link and
 * the link from the address bar and history at once; without a link the
 * code from the mail can be typed in.
 */
import { call, page } from './api.js';
import { notice, onSubmit } from './form.js';
import { $, el, param, ready } from './layout.js';

const token = param('token');
if (token) history.replaceState(null, '', page('reset.html'));
else $('#token-field').hidden = false;

onSubmit($('#reset'), async (v) => {
  const r = await call('POST', 'auth/password/reset', {
    body: { token: token || v.token, password: v.password },
    session: false });
  if (!r.ok) return r;
  $('#reset').hidden = true;
  notice($('#state'), el('p', null, 'Your new password is set, and every ' +
    'session of your account was signed out.'),
  el('p', null, el('a', { href: page('signin.html') }, 'Sign in')));
  return null;
}, {
  invalid_token: token ? 'This reset link does not work any more: it was ' +
    'used, it expired, or its account is disabled. Ask for a new link.'
    : { field: 'token', text: 'This code does not work: it was used, it ' +
      'expired, or it is mistyped' },
  invalid_field: (r) => r.field === 'token' && token ? 'This reset link ' +
    'is damaged. Open the link from the mail again, or ask for a new one.'
    : null,
});
ready();
