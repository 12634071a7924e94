/** Dashboard routes: sign-in with an API token (kept in an HttpOnly, SameSite=Strict cookie). */

import { principalOf, SESSION_COOKIE } from './api.js';
import { authenticateToken, roleAtLeast } from './auth.js';
import type { ConsoleContext } from './context.js';
import { csp, renderDashboard, renderLogin } from './dashboard.js';
import type { Router } from './http/server.js';
import { MAX_BODY_BYTES } from './protocol.js';
import { fleetView, recentFailures, rolloutsView } from './views.js';

const HTML = 'text/html; charset=utf-8';
const LOGIN_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

export function registerDashboard(router: Router, ctx: ConsoleContext): void {
  router.add({
    method: 'GET',
    pattern: '/',
    name: 'dashboard',
    handler: async (req) => {
      const who = await principalOf(ctx, req);
      if (!who || !roleAtLeast(who.role, 'viewer')) return { status: 303, headers: { location: '/login' } };
      const [rollouts, fleet, failures] = [
        await rolloutsView(ctx),
        await fleetView(ctx),
        await recentFailures(ctx, 50),
      ];
      const { html, nonce } = renderDashboard(who, { rollouts, fleet, failures });
      return {
        status: 200,
        headers: { 'content-type': HTML, 'content-security-policy': csp(nonce), 'cache-control': 'no-store' },
        body: html,
      };
    },
  });
  router.add({
    method: 'GET',
    pattern: '/login',
    name: 'login-form',
    handler: async () => ({
      status: 200,
      headers: { 'content-type': HTML, 'content-security-policy': LOGIN_CSP },
      body: renderLogin(),
    }),
  });
  router.add({
    method: 'POST',
    pattern: '/login',
    name: 'login',
    handler: async (req) => {
      let text = '';
      for await (const chunk of req.raw) {
        text += String(chunk);
        if (text.length > MAX_BODY_BYTES) break;
      }
      const token = new URLSearchParams(text).get('token') ?? '';
      const who = token ? await authenticateToken(ctx.db, token) : undefined;
      if (!who) {
        return {
          status: 401,
          headers: { 'content-type': HTML, 'content-security-policy': LOGIN_CSP },
          body: renderLogin('That token is not valid.'),
        };
      }
      return {
        status: 303,
        headers: {
          location: '/',
          'set-cookie': `${SESSION_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
        },
      };
    },
  });
  router.add({
    method: 'POST',
    pattern: '/logout',
    name: 'logout',
    handler: async () => ({
      status: 303,
      headers: {
        location: '/login',
        'set-cookie': `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`,
      },
    }),
  });
}
