/*
 * forgot.js: "Reset your password" (forgot.html).  Owns the request for a
 * reset mail; the answer is the same whether or not the account exists,
 * and so is what the page says.
 */
import { call, page } from './api.js';
import { notice, onSubmit } from './form.js';
import { $, el, ready } from './layout.js';

onSubmit($('#forgot'), async (v) => {
  const r = await call('POST', 'auth/password/forgot', { body: v,
    session: false });
  if (!r.ok) return r;
  $('#forgot').hidden = true;
  notice($('#state'), el('p', null, 'If an account uses ',
    el('strong', null, v.email), ', a mail with a link to choose a new ' +
    'password is on its way. The link works once and soon expires.'),
  el('p', null, 'Nothing after a few minutes? Check the spam folder, or ',
    el('a', { href: page('forgot.html') }, 'ask again'), '.'));
  return null;
});
ready();
