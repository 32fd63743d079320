/**
 * `node scripts/outbox.ts BASE ADDRESS [PATH]`: prints the link of the newest mail that
 * `wrangler dev` (BASE, e.g. http://localhost:8787) kept for ADDRESS, the first link under PATH
 * (default /app/). Reads the local explorer API, where the send_email binding keeps every message
 * locally (the same mails are files under .wrangler/tmp/email/). Exits 1 when there is none.
 */
export {};

const [base, address, path = '/app/'] = process.argv.slice(2);
if (!base || !address) {
  console.error('Usage: node scripts/outbox.ts BASE ADDRESS [PATH]');
  process.exit(2);
}
const api = `${base}/cdn-cgi/local/explorer/api/local/email/sending`;

interface Sent {
  messageId: string;
  to: string[];
  sentAt: string;
  text?: string;
}

const list = (await (await fetch(`${api}?per_page=100`)).json()) as { result: Sent[] };
const newest = list.result
  .filter((mail) => mail.to.includes(address))
  .sort((a, b) => b.sentAt.localeCompare(a.sentAt))[0];
if (!newest) {
  console.error(`no mail to ${address}`);
  process.exit(1);
}
const detail = (await (await fetch(`${api}?email_id=${encodeURIComponent(newest.messageId)}`)).json()) as {
  result: Sent;
};
const link = new RegExp(`https?://\\S+${path.replace(/[/]/g, '\\/')}\\S+`).exec(detail.result.text ?? '')?.[0];
if (!link) {
  console.error(`the newest mail to ${address} has no link under ${path}`);
  process.exit(1);
}
console.log(link);
