/*
 * users.js: "Users" (users.html?q=&disabled=&page=&organization_id=).
 * Owns the list of an organization's users (search, status filter,
 * paging, all in the address so a view can be bookmarked) and adding a
 * user with a password.  Each user's own page is user.html.
 */
import { call } from './api.js';
import { notice, onSubmit, report } from './form.js';
import { $, el, pageNumber, pager, param, ready, rows, scope, scoped,
  scopedQuery, signedIn, timeEl } from './layout.js';

const PER_PAGE = 20;
const me = await signedIn('admin');
const q = param('q');
const status = param('disabled');
const pageNo = pageNumber();

$('#q').value = q;
$('#disabled').value = status === 'true' || status === 'false' ? status : '';
if (scope()) $('#search-scope').value = scope();
else $('#search-scope').disabled = true;
$('#invite-link').href = scoped('invitations.html');
if (me.role === 'superadmin') {
  $('#role').append(el('option', { value: 'superadmin' }, 'Superadmin'));
}

async function list() {
  const r = await call('GET', 'users', { query: scopedQuery({ q,
    disabled: $('#disabled').value, page: pageNo, per_page: PER_PAGE }) });
  if (!r.ok) {
    report($('#count'), r);
    return;
  }
  const { users, total } = r.data;
  const first = (pageNo - 1) * PER_PAGE + 1;
  $('#count').textContent = total === 0 ? 'No user matches.'
    : `${total} ${total === 1 ? 'user' : 'users'}` + (total > PER_PAGE
      ? `, ${first} to ${first + users.length - 1} shown` : '') + '.';
  rows($('#users'), users, (u) => [
    el('a', { href: scoped('user.html', { id: u.id }) }, u.username),
    u.name, u.email, u.role,
    el('span', { class: `tag ${u.disabled ? 'tag-off' : 'tag-on'}` },
      u.disabled ? 'Disabled' : 'Active'),
    timeEl(u.lastLoginAt, 'Never')]);
  pager($('#pager'), pageNo, PER_PAGE, total);
}

onSubmit($('#create'), async (v) => {
  const r = await call('POST', 'users', { body: v, query: scopedQuery() });
  if (!r.ok) return r;
  $('#create').reset();
  notice($('#create'), el('p', null, 'Added ', el('a', {
    href: scoped('user.html', { id: r.data.user.id }) },
  r.data.user.username), '. They can sign in now.'));
  await list();
  return null;
});

if (param('deleted')) notice($('#count'), `Deleted ${param('deleted')}.`);
await list();
ready();
