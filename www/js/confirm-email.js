/*
 * confirm-email.js: "Confirm your new email address" (confirm-email.html
 * ?token=..., the link mailed to a new address).  Owns the confirmation:
 * the change applies only when the person presses the button (a mail
 * scanner that follows the link changes nothing); the token leaves the
 * address bar at once.
 */
import { call, page } from './api.js';
import { notice, onSubmit } from './form.js';
import { $, el, param, ready } from './layout.js';

const token = param('token');
if (token) history.replaceState(null, '', page('confirm-email.html'));
else $('#token-field').hidden = false;

onSubmit($('#confirm'), async (v) => {
  const r = await call('POST', 'user/email/confirm', {
    body: { token: token || v.token }, session: false });
  if (!r.ok) return r;
  $('#confirm').hidden = true;
  const email = r.data.user && r.data.user.email;
  notice($('#state'), el('p', null, email ? 'Your email address is now '
    : 'Your email address is changed.', email ? el('strong', null, email)
    : '', email ? '.' : ''),
  el('p', null, el('a', { href: page('account.html') }, 'Your account')));
  return null;
}, {
  invalid_token: token ? 'This link does not work any more: it was used ' +
    'or it expired. Change the address again from your account to get a ' +
    'new one.' : { field: 'token', text: 'This code does not work: it was ' +
      'used, it expired, or it is mistyped' },
  email_taken: 'Another account uses that address now, so it cannot ' +
    'become yours.',
});
ready();
