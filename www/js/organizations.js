/*
 * organizations.js: "Organizations" (organizations.html?q=&page=), for
 * superadmins.  Owns the list of every organization, with the links that
 * switch the administration pages to one of them (?organization_id=),
 * and creating one, optionally with an invitation for its first admin.
 */
import { call, page } from './api.js';
import { notice, onSubmit, report } from './form.js';
import { $, copyBox, el, pageNumber, pager, param, ready, rows,
  signedIn, timeEl } from './layout.js';

const PER_PAGE = 20;
await signedIn('superadmin');
const q = param('q');
const pageNo = pageNumber();
$('#q').value = q;

async function list() {
  const r = await call('GET', 'organizations', { query: { q, page: pageNo,
    per_page: PER_PAGE } });
  if (!r.ok) {
    report($('#count'), r);
    return;
  }
  const { organizations, total } = r.data;
  $('#count').textContent = total === 0 ? 'No organization matches.'
    : `${total} ${total === 1 ? 'organization' : 'organizations'}.`;
  rows($('#orgs'), organizations, (o) => {
    const at = (name, text) => el('a', { href: page(name,
      { organization_id: o.id }) }, text);
    return [at('organization.html', o.name), String(o.userCount),
      timeEl(o.createdAt), el('span', { class: 'links' },
        at('users.html', 'Users'), ' · ', at('invitations.html',
          'Invitations'), ' · ', at('audit.html', 'Audit log'))];
  });
  pager($('#pager'), pageNo, PER_PAGE, total);
}

onSubmit($('#create'), async (v) => {
  const r = await call('POST', 'organizations', { body: v });
  if (!r.ok) return r;
  const { organization: o, invitation: inv } = r.data;
  $('#create').reset();
  const parts = [el('p', null, 'Created ', el('a', { href: page(
    'organization.html', { organization_id: o.id }) }, o.name), '.')];
  if (inv) {
    parts.push(el('p', null, 'An invitation mail to be its admin went ' +
      'to ', el('strong', null, inv.email), '.'),
    copyBox('org-invite-link', 'Invitation link', inv.url ||
      page('register.html', { code: inv.code })));
  }
  notice($('#create'), ...parts);
  await list();
  return null;
}, {
  organization_taken: { field: 'name', text: 'An organization of that ' +
    'name exists (names are compared ignoring case and accents)' },
  email_taken: { field: 'admin_email', text: 'An account already uses ' +
    'this address' },
  invalid_field: (r) => r.field === 'name' ? { field: 'name', text:
    'Enter a name of 1 to 128 characters, without line breaks' } : null,
});

if (param('deleted')) notice($('#count'), `Deleted ${param('deleted')}.`);
await list();
ready();
