/** Worker entry point: the app, and the Cron Trigger that prunes the audit log. */
import { createApp } from './app';
import { scheduled } from './scheduled';

const app = createApp();

export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<Env>;
