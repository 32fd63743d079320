/** Every route the API serves, in the order Hono matches them; the docs describe them all. */
import type { Route } from '../http/route';
import { auditRoutes } from './audit';
import { docsRoutes } from './docs';
import { emailChangeRoutes } from './email-change';
import { externalRoutes } from './external';
import { identityRoutes } from './identities';
import { jwksRoutes } from './jwks';
import { mfaRoutes } from './mfa';
import { mySessionRoutes } from './my-sessions';
import { oauthRoutes } from './oauth';
import { oauthClientRoutes } from './oauth-clients';
import { oauthConsentRoutes } from './oauth-consents';
import { oauthLogoutRoutes } from './oauth-logout';
import { oauthTokenRoutes } from './oauth-token';
import { passkeyRoutes } from './passkeys';
import { passwordResetRoutes } from './password-reset';
import { registrationRoutes } from './registration';
import { rootRoutes } from './root';
import { sessionRoutes } from './sessions';
import { taskRoutes } from './tasks';
import { tokenRoutes } from './tokens';
import { userRoutes } from './users';

const apiRoutes: readonly Route[] = [
  ...rootRoutes,
  ...registrationRoutes,
  ...tokenRoutes,
  ...sessionRoutes,
  ...mySessionRoutes,
  ...mfaRoutes,
  ...passkeyRoutes,
  ...passwordResetRoutes,
  ...emailChangeRoutes,
  ...externalRoutes,
  ...identityRoutes,
  ...jwksRoutes,
  ...taskRoutes,
  ...auditRoutes,
  ...oauthRoutes,
  ...oauthTokenRoutes,
  ...oauthLogoutRoutes,
  ...oauthClientRoutes,
  ...oauthConsentRoutes,
  ...userRoutes,
];

export const routes: readonly Route[] = [...apiRoutes, ...docsRoutes(apiRoutes)];
