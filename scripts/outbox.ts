/**
 * `node scripts/outbox.ts BASE ADDRESS [PATH]`: prints the first link under PATH (default /app/)
 * of the newest mail that `wrangler dev` (BASE, e.g. http://localhost:8787) kept for ADDRESS.
 * Reads the local explorer API, where the send_email binding keeps every message locally (the
 * same mails are files under .wrangler/tmp/email/). Mail is sent after the response, so it looks
 * again for up to 5 seconds; exits 1 when there is none.
 */
export {};

const [base, address, path = '/app/'] = process.argv.slice(2);
if (!base || !address) {
  console.error('Usage: node scripts/outbox.ts BASE ADDRESS [PATH]');
  process.exit(2);
}
const api = `${base}/cdn-cgi/local/explorer/api/local/email/sending`;
const linkPattern = new RegExp(`https?://\\S+${path.replace(/[/]/g, '\\/')}\\S+`);

interface Sent {
  messageId: string;
  to: string[];
  sentAt: string;
  text?: string;
}

/** The newest mail to `address` that has a link under `path`, newest first. */
async function newestLink(): Promise<string | undefined> {
  const list = (await (await fetch(`${api}?per_page=100`)).json()) as { result: Sent[] };
  const mails = list.result
    .filter((mail) => mail.to.includes(address!))
    .sort((a, b) => b.sentAt.localeCompare(a.sentAt));
  for (const mail of mails) {
    const detail = (await (await fetch(`${api}?email_id=${encodeURIComponent(mail.messageId)}`)).json()) as {
      result: Sent;
    };
    const link = linkPattern.exec(detail.result.text ?? '')?.[0];
    if (link) return link;
  }
  return undefined;
}

for (let attempt = 0; attempt < 25; attempt++) {
  const link = await newestLink();
  if (link) {
    console.log(link);
    process.exit(0);
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
}
console.error(`no mail to ${address} with a link under ${path}`);
process.exit(1);
