import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// The README's screenshots (scripts/screenshots.sh), taken from the running demo of
// scripts/run.sh; not a test run.
export default defineConfig({
  ...base,
  testDir: "./screenshots",
  use: {
    ...base.use,
    baseURL: process.env.PASSERELLE_DEMO_URL ?? "http://127.0.0.1:3000",
    viewport: { width: 1200, height: 860 },
    trace: "off",
  },
});
