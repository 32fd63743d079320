/**
 * Response shapes, for the OpenAPI document only (responses are built by the serializers in
 * src/routes/). Each is a named component: `#/components/schemas/<name>`.
 */
import * as z from 'zod';
import { AUDIT_KINDS } from '../db/audit';
import { TITLE_MAX_LENGTH, USERNAME_MAX_LENGTH } from '../drf/fields';

export const components = z.registry<{ id: string; description?: string }>();

function component<T extends z.ZodType>(id: string, schema: T, description?: string): T {
  components.add(schema, { id, ...(description ? { description } : {}) });
  return schema;
}

const id = z.int().positive();
const absoluteUrl = z.string().meta({ format: 'uri' });
const dateTime = z.string().meta({ format: 'date-time', examples: ['2016-10-18T19:12:01Z'] });

const task = component(
  'Task',
  z.object({ id, url: absoluteUrl, title: z.string().min(1).max(TITLE_MAX_LENGTH), person: id, due_to: dateTime }),
);
const user = component(
  'User',
  z.object({
    id,
    url: absoluteUrl,
    username: z.string().max(USERNAME_MAX_LENGTH),
    email: z.string().optional().meta({ description: 'Only shown to the user itself and to staff.' }),
    email_verified: z
      .boolean()
      .optional()
      .meta({ description: 'Shown with `email`: the owner proved the address (password resets go only to such).' }),
    pending_email: z
      .string()
      .optional()
      .meta({ description: 'Shown with `email`, while a change waits for the link mailed to this address.' }),
    is_active: z.boolean().optional().meta({ description: 'Only shown to staff.' }),
    is_staff: z.boolean().optional().meta({ description: 'Only shown to staff.' }),
    tasks: z.array(id),
  }),
);

const detailError = component(
  'Detail',
  z.object({
    detail: z.string(),
    code: z
      .string()
      .optional()
      .meta({ description: '`reauth_required`: log in again or POST /auth/reauth/, then retry.' }),
  }),
  'An error about the whole request.',
);
const fieldErrors = component(
  'FieldErrors',
  z.record(z.string(), z.array(z.string())),
  'Messages per field; `non_field_errors` holds those about the whole body.',
);

const scopeInWords = z.object({ scope: z.string(), description: z.string().meta({ description: 'For the user.' }) });

const oauthClient = z.object({
  client_id: z.string(),
  name: z.string(),
  redirect_uris: z.array(z.string()),
  public: z.boolean().meta({ description: 'No secret: the client proves itself with PKCE alone.' }),
});

const passkey = component(
  'Passkey',
  z.object({
    id,
    name: z.string(),
    created: dateTime,
    last_used: dateTime.nullable(),
    device_type: z.enum(['singleDevice', 'multiDevice']).meta({ description: '`multiDevice`: a synced passkey.' }),
    backed_up: z.boolean(),
  }),
);

const page = (item: z.ZodType) =>
  z.object({
    count: z.int().nonnegative().optional().meta({ description: 'Absent with `?cursor=` (cursor pagination).' }),
    next: absoluteUrl.nullable(),
    previous: absoluteUrl.nullable(),
    results: z.array(item),
  });

const cursorPageOf = (item: z.ZodType) =>
  z.object({ next: absoluteUrl.nullable(), previous: absoluteUrl.nullable(), results: z.array(item) });

const party = z.object({ id, username: z.string() }).nullable();

const auditEvent = component(
  'AuditEvent',
  z.object({
    id,
    at: dateTime,
    kind: z.enum(AUDIT_KINDS),
    actor: party.meta({ description: 'Who acted; null when nobody was logged in (a failed login).' }),
    subject: party.meta({ description: 'Whose account it concerns; the user may have been deleted since.' }),
    request_id: z.string().meta({ description: 'The X-Request-Id of the request, as in the logs.' }),
    ip: z.string().meta({ description: "The client's address (CF-Connecting-IP)." }),
    user_agent: z.string().meta({ description: 'Browser and system, shortened.' }),
    details: z.record(z.string(), z.unknown()).meta({ description: 'What changed; never a secret.' }),
  }),
);

export const responses = {
  Task: task,
  User: user,
  TaskPage: component('TaskPage', page(task)),
  UserPage: component('UserPage', page(user)),
  Token: component('Token', z.object({ token: z.string().meta({ description: 'An access token (JWT).' }) })),
  LoginResult: component(
    'LoginResult',
    z.union([
      z.object({ token: z.string().meta({ description: 'An access token (JWT).' }) }),
      z.object({
        mfa_required: z.literal(true),
        mfa_token: z.string().meta({ description: 'For POST /auth/mfa/verify/ (an mfa+jwt token, 5 minutes).' }),
        methods: z.array(z.string()),
      }),
    ]),
    'The access token; for a user with a second factor, the token of the second step instead.',
  ),
  MfaStatus: component(
    'MfaStatus',
    z.object({ totp: z.boolean(), passkeys: z.int().nonnegative(), recovery_codes_left: z.int().nonnegative() }),
  ),
  TotpEnrolment: component(
    'TotpEnrolment',
    z.object({
      secret: z.string().meta({ description: 'Base32; shown once.' }),
      otpauth_url: z
        .string()
        .meta({ description: 'The otpauth://totp/ URI an authenticator app reads (as a QR code).' }),
    }),
  ),
  RecoveryCodes: component(
    'RecoveryCodes',
    z.object({ recovery_codes: z.array(z.string()).length(10) }),
    'Ten single-use codes, shown this once.',
  ),
  Passkey: passkey,
  PasskeyList: component('PasskeyList', z.array(passkey), "The caller's passkeys, oldest first (at most 20)."),
  SessionList: component(
    'SessionList',
    z.array(
      z.object({
        id: z.uuid().meta({ description: "The `sid` of the session's access tokens." }),
        created: dateTime.meta({ description: 'The login.' }),
        last_used: dateTime.meta({ description: 'The last refresh, or the login.' }),
        user_agent: z.string().meta({ description: 'Browser and system, shortened: "Firefox on Linux".' }),
        current: z.boolean().meta({ description: 'The session of the token of this request.' }),
      }),
    ),
    "The caller's live browser sessions, newest login first (at most 100).",
  ),
  AuditEventPage: component('AuditEventPage', cursorPageOf(auditEvent)),
  OAuthClientCreated: component(
    'OAuthClientCreated',
    oauthClient.extend({
      client_secret: z.string().optional().meta({ description: "A confidential client's secret: shown here only." }),
    }),
  ),
  OAuthClientList: component(
    'OAuthClientList',
    z.array(oauthClient),
    'The registered apps, oldest first (at most 1000).',
  ),
  OAuthError: component(
    'OAuthError',
    z.object({
      error: z
        .string()
        .meta({ description: '`invalid_grant`, `invalid_client`, `invalid_token`, ... (RFC 6749 §5.2).' }),
      error_description: z.string(),
    }),
    'An error of the OpenID Connect provider, in the shape of RFC 6749.',
  ),
  OpenIdConfiguration: component(
    'OpenIdConfiguration',
    z.looseObject({ issuer: absoluteUrl, authorization_endpoint: absoluteUrl, token_endpoint: absoluteUrl }),
    'OpenID Connect Discovery 1.0 provider metadata.',
  ),
  AuthorizationStep: component(
    'AuthorizationStep',
    z.object({
      action: z.enum(['login', 'reauthenticate', 'consent', 'redirect']).meta({
        description:
          '`login`: send a token (log in first); `reauthenticate`: log in again (prompt=login or max_age); `consent`: ask the user, then send `decision`; `redirect`: go to `redirect_to`.',
      }),
      client: z.object({ client_id: z.string(), name: z.string() }),
      scopes: z
        .array(scopeInWords)
        .optional()
        .meta({ description: 'With `consent`: what the app asks for, in words.' }),
      redirect_to: absoluteUrl.optional().meta({ description: "With `redirect`: the app's redirect URI and answer." }),
    }),
  ),
  ExternalProviderList: component(
    'ExternalProviderList',
    z.array(
      z.object({
        id: z.string(),
        name: z.string().meta({ description: 'For the button: "Sign in with <name>".' }),
        start_url: absoluteUrl.meta({ description: 'Where the button sends the browser.' }),
      }),
    ),
  ),
  IdentityList: component(
    'IdentityList',
    z.array(
      z.object({
        id,
        provider: z.string(),
        provider_name: z.string(),
        email: z
          .string()
          .nullable()
          .meta({ description: 'What the provider said; it never changes your own address.' }),
        email_verified: z.boolean(),
        created: dateTime,
        last_used: dateTime.nullable(),
      }),
    ),
  ),
  ExternalLocation: component('ExternalLocation', z.object({ location: absoluteUrl })),
  OAuthConsentList: component(
    'OAuthConsentList',
    z.array(
      z.object({
        client_id: z.string(),
        name: z.string(),
        scopes: z.array(scopeInWords),
        granted: dateTime.meta({ description: 'When the user last allowed it.' }),
      }),
    ),
    'The apps the caller allowed, oldest first.',
  ),
  LogoutStep: component(
    'LogoutStep',
    z.object({
      client_name: z.string().nullable().meta({ description: 'The app that asked, when it said which it is.' }),
      redirect_to: absoluteUrl
        .nullable()
        .meta({ description: "Where to send the browser after the logout: the app's URI with `state`." }),
    }),
  ),
  OAuthTokens: component(
    'OAuthTokens',
    z.object({
      access_token: z.string().meta({ description: 'An RFC 9068 `at+jwt` (RS256).' }),
      token_type: z.literal('Bearer'),
      expires_in: z.int().positive(),
      scope: z.string(),
      id_token: z.string(),
      refresh_token: z.string().optional().meta({ description: 'With the scope `offline_access`; single use.' }),
    }),
  ),
  UserInfo: component(
    'UserInfo',
    z.object({
      sub: z.string(),
      preferred_username: z.string().optional(),
      email: z.string().optional(),
      email_verified: z.boolean().optional(),
    }),
  ),
  PasskeyCreated: component('PasskeyCreated', z.object({ id, name: z.string(), created: dateTime })),
  WebAuthnOptions: component(
    'WebAuthnOptions',
    z.looseObject({ challenge: z.string() }),
    "WebAuthn options as JSON (PublicKeyCredentialCreationOptionsJSON or ...RequestOptionsJSON): pass them to @simplewebauthn/browser's startRegistration() / startAuthentication().",
  ),
  PasskeyLoginOptions: component(
    'PasskeyLoginOptions',
    z.object({ options: z.looseObject({ challenge: z.string() }), challenge_token: z.string() }),
  ),
  Registered: component(
    'Registered',
    z.union([z.object({ confirmation_url: absoluteUrl }), z.object({ detail: z.string() })]),
    'The activation link (ACTIVATION_DELIVERY=response), or a message saying it was mailed (email).',
  ),
  UserActivated: component('UserActivated', z.tuple([z.literal('User Activated')])),
  ApiRoot: component('ApiRoot', z.record(z.string(), absoluteUrl), 'Absolute links to what the API serves.'),
  Jwks: component(
    'Jwks',
    z.object({ keys: z.array(z.record(z.string(), z.string())) }),
    "A JWK Set (RFC 7517) of public keys: the RS256 keys of the OpenID Connect provider, and the access tokens' keys unless they are HS256 secrets.",
  ),
  Detail: detailError,
  FieldErrors: fieldErrors,
  BadRequest: component(
    'BadRequest',
    z.union([fieldErrors, detailError]),
    'Field errors, or `detail` for a body that cannot be parsed.',
  ),
  OpenApiDocument: component('OpenApiDocument', z.looseObject({ openapi: z.string() }), 'An OpenAPI 3.1 document.'),
  Html: component('Html', z.string(), 'An HTML page.'),
};

/** Responses that are not JSON, by their media type. */
export const MEDIA_TYPES = new Map<ResponseName, string>([['Html', 'text/html']]);

export type ResponseName = keyof typeof responses;
