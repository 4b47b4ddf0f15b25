// Security headers on every response (@fastify/helmet): a content security
// policy that lets a page load only this service's own scripts, styles,
// images and API (the dashboard has no inline code; Swagger UI's inline
// script is allowed by the hash @fastify/swagger-ui publishes, so it registers
// first, and its pages alone allow the inline styles it renders with:
// swagger.ts), no framing, no MIME sniffing, no referrer.
import helmet from '@fastify/helmet';
import fp from 'fastify-plugin';

export default fp(async function securityHeaders(app) {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", ...app.swaggerCSP.script],
        styleSrc: ["'self'"],
        // The dashboard's empty favicon is a data: URL.
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        scriptSrcAttr: ["'none'"],
        // No upgrade-insecure-requests: the lab serves plain HTTP.
      },
    },
    // The lab serves plain HTTP; behind TLS, the proxy that terminates it sets HSTS.
    strictTransportSecurity: false,
    referrerPolicy: { policy: 'no-referrer' },
  });
});
