// An independent OpenID provider (panva/oidc-provider) for the oidc and google adapter tests.
// Usage: node server.mjs <client_id> <client_secret> <redirect_uri>...; prints its issuer URL.
// CONFORM=1 keeps profile claims out of the ID token (only at userinfo); CONFORM=0 puts them in.
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const [clientId, clientSecret, ...redirectUris] = process.argv.slice(2);
const conform = process.env.CONFORM !== '0';

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    pkce: { required: () => true },
    conformIdTokenClaims: conform,
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'picture', 'preferred_username'],
    },
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            name: `Ada ${id}`,
            preferred_username: id,
            picture: `https://avatars.example/${id}.png`,
            email: `${id}@example.org`,
            email_verified: !id.startsWith('unverified'),
          };
        },
      };
    },
  });
  provider.proxy = false;
  server.on('request', provider.callback());
  process.stdout.write(`${issuer}\n`);
});
