import express, { type NextFunction, type Request, type Response, Router } from "express";
import { type DashboardAssets, findDashboardAssets, missingDashboardAssets } from "./assets.js";

/**
 * Everything the page loads comes from this hub: no inline script or style, no third party, and
 * the API is called with fetch() and a bearer header (no cookies, so no CSRF surface).
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader("Content-Security-Policy", DASHBOARD_CSP);
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "no-referrer");
  res.setHeader("X-Frame-Options", "DENY");
  next();
}

/**
 * The operator dashboard at `/`: index.html, app.css and the compiled modules under js/.
 * Every URL the page uses is relative, so a reverse proxy may publish the hub at a sub-path.
 */
export function dashboardRoutes(assets: DashboardAssets = findDashboardAssets()): Router {
  const router = Router();
  // Revalidate every load (serve-static's ETag makes that a 304), so a hub upgrade shows at once.
  const serve = { index: "index.html", cacheControl: true, maxAge: 0, redirect: false } as const;

  router.use(securityHeaders);
  router.get("/", (_req, res, next) => {
    const missing = missingDashboardAssets(assets);
    if (missing.length === 0) return next();
    res
      .status(503)
      .type("text/plain")
      .send(
        `the dashboard is not installed: missing ${missing.join(", ")} (reinstall ship, or npm run build)\n`,
      );
  });
  router.use(express.static(assets.staticDir, serve));
  router.use("/js", express.static(assets.scriptsDir, { ...serve, index: false }));
  return router;
}
