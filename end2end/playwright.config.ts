import { defineConfig } from "@playwright/test";

// The server is started by scripts/test.sh (fresh embedded database with demo data) on this URL.
const baseURL = process.env.PASSERELLE_E2E_URL ?? "http://127.0.0.1:3900";

export default defineConfig({
  testDir: "./tests",
  // Generous: a loaded 2-core machine hydrates slowly; a passing test takes a few seconds.
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL,
    locale: "fr-FR",
    trace: "retain-on-failure",
    launchOptions: {
      // Debian's Chromium: no browser download. The networking flags keep it off the internet.
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
  projects: [
    { name: "chromium", testIgnore: /(national-directory|regional-news)\.spec\.ts/ },
    // After the others: once a directory is loaded, every account created or imported with an
    // RPPS is checked against it, and a published news item changes the sign-in page.
    {
      name: "directory-and-news",
      testMatch: /(national-directory|regional-news)\.spec\.ts/,
      dependencies: ["chromium"],
    },
  ],
});
