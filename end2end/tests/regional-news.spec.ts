import { expect, test } from "./fixtures";
import { signIn } from "./helpers";

// « Actualités » (issue 18, part 4): the IDF administrator writes an item, previews the draft
// (not shown anywhere yet), publishes it; the sign-in page shows it for Île-de-France (also
// without JavaScript, and for a visitor whose region is remembered) and not for
// Auvergne-Rhône-Alpes; an IDF professional's dashboard and the region's Atom feed show it.
// Runs after the main project (its own), and deletes its item at the end.

test.describe.configure({ mode: "serial" });

const TITLE = "Maintenance du portail le 12 décembre";
let itemUrl = "";

test("the IDF administrator writes an item and previews the draft", async ({ page, browser }) => {
  await signIn(page, "admin.idf");
  await page.getByRole("link", { name: "Actualités" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Actualités" })).toBeVisible();
  const form = page.locator("section[aria-labelledby=nouvelle] form");
  await form.getByLabel("Titre").fill(TITLE);
  await form
    .getByLabel("Texte")
    .fill("Le **12 décembre**, de 20 h à 22 h, la connexion sera coupée.\n\n<script>alert(1)</script>");
  await form.getByLabel("Important (mise en avant)").check();
  await form.getByRole("button", { name: "Enregistrer le brouillon" }).click();
  await expect(page).toHaveURL(/\/admin\/actualites\/[0-9a-f-]{36}\?info=actualite-enregistree$/);
  itemUrl = new URL(page.url()).pathname;
  await expect(page.locator("#etat-actualite")).toContainText("Brouillon");
  const preview = page.locator("#apercu-actualite");
  await expect(preview.locator("strong")).toHaveText("12 décembre");
  // The author's markup is text, never markup.
  await expect(preview).toContainText("<script>alert(1)</script>");
  await expect(preview.locator("script")).toHaveCount(0);

  // A draft is shown nowhere (to a visitor: a signed-in administrator goes to the console).
  const visitor = await browser.newContext();
  const signInPage = await visitor.newPage();
  await signInPage.goto("/connexion?region=FR-IDF");
  await expect(signInPage.locator("section.news")).toBeVisible();
  await expect(signInPage.locator("section.news")).not.toContainText(TITLE);
  await visitor.close();
});

test("published, the item is on the sign-in page for IDF, not for ARA", async ({ page, browser }) => {
  await signIn(page, "admin.idf");
  await page.goto(itemUrl);
  await page.getByRole("button", { name: "Publier" }).click();
  await expect(page.locator("#etat-actualite")).toContainText("Publiée");

  const visitor = await browser.newContext();
  const signInPage = await visitor.newPage();
  await signInPage.goto("/connexion?region=FR-IDF");
  const news = signInPage.locator("section.news");
  await expect(news.getByRole("heading", { name: TITLE })).toBeVisible();
  await expect(news).toContainText("Important");
  await expect(news.locator("strong")).toHaveText("12 décembre");
  // The region is remembered: the next visit without ?region= shows IDF's news.
  await signInPage.goto("/connexion");
  await expect(signInPage.locator("section.news").getByRole("heading", { name: TITLE })).toBeVisible();
  await signInPage.goto("/connexion?region=FR-ARA");
  await expect(signInPage.locator("section.news")).not.toContainText(TITLE);
  await visitor.close();

  // Without JavaScript too.
  const bare = await browser.newContext({ javaScriptEnabled: false });
  const barePage = await bare.newPage();
  await barePage.goto("/connexion?region=FR-IDF");
  await expect(barePage.locator("section.news")).toContainText(TITLE);
  await bare.close();
});

test("an IDF professional's dashboard and the region's feed show it", async ({ page, request }) => {
  await signIn(page, "inf.durand");
  await expect(page).toHaveURL(/\/etablissements\/[0-9A-Z]{9}$/);
  await expect(page.locator("section.news")).toContainText(TITLE);

  const feed = await request.get("/actualites/FR-IDF.atom");
  expect(feed.status()).toBe(200);
  expect(feed.headers()["content-type"]).toContain("application/atom+xml");
  const xml = await feed.text();
  expect(xml).toContain(`<title>${TITLE}</title>`);
  // The text is HTML escaped into the XML, the author's script as text.
  expect(xml).toContain("&lt;strong&gt;12 décembre&lt;/strong&gt;");
  expect(xml).not.toContain("<script>");
  const ara = await request.get("/actualites/FR-ARA.atom");
  expect(await ara.text()).not.toContain(TITLE);
  expect((await request.get("/actualites/FR-XX.atom")).status()).toBe(404);
});

test("a support desk cannot write news", async ({ page }) => {
  await signIn(page, "support.ara");
  await expect(page.getByRole("link", { name: "Actualités" })).toHaveCount(0);
  expect((await page.goto(itemUrl))?.status()).toBe(403);
});

test("the national administrator sees it among all the items", async ({ page }) => {
  await signIn(page, "admin.national");
  await page.goto("/admin/actualites");
  await expect(page.locator("#actualites-table")).toContainText(TITLE);
});

test("its author deletes it: it is shown nowhere any more", async ({ page, request }) => {
  await signIn(page, "admin.idf");
  await page.goto(itemUrl);
  await page.getByRole("button", { name: "Supprimer" }).click();
  await expect(page).toHaveURL(/\/admin\/actualites\?info=actualite-supprimee$/);
  await expect(page.locator("#actualites-table")).not.toContainText(TITLE);
  expect(await (await request.get("/actualites/FR-IDF.atom")).text()).not.toContain(TITLE);
});
