/** Our registrations at the test providers (test/external/provider-setup.ts), shared with the tests. */
export const CLIENT = { client_id: 'tasks-api', client_secret: 'a provider secret for the tests' };
export const GITHUB_CLIENT = { client_id: 'gh-tasks-api', client_secret: 'a GitHub secret for the tests' };
