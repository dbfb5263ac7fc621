// Loads the HTML report in Debian's headless Chromium and prints, as JSON,
// what a reader would meet: console errors, every request the page made,
// the size of every inline figure, every number's element, and the
// provenance panel shown on hover for a deterministic sample of them.
// TestHTMLReportInBrowser (cmd/bfc/browser_test.go) runs it and judges
// the result against the store; this script only observes.
//
//   node check.mjs PAGE.html [NUMBERS [TEXTS]]
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import puppeteer from "puppeteer-core";

const [pagePath, nNum = "20", nText = "5"] = process.argv.slice(2);
if (!pagePath) {
  console.error("usage: node check.mjs PAGE.html [NUMBERS [TEXTS]]");
  process.exit(2);
}
const url = pathToFileURL(path.resolve(pagePath)).href;
const profile = fs.mkdtempSync(path.join(os.tmpdir(), "bfc-chromium-"));
const browser = await puppeteer.launch({
  executablePath: process.env.BFC_CHROMIUM || "/usr/bin/chromium",
  headless: false, // --headless is passed below, with the other flags
  userDataDir: profile,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    `--user-data-dir=${profile}`, "--window-size=1280,900"],
});
const out = { url, console: [], pageErrors: [], requests: [], failed: [], figures: [], refs: [], samples: [] };
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warn") out.console.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => out.pageErrors.push(String(e)));
  page.on("request", (r) => out.requests.push(r.url()));
  page.on("requestfailed", (r) => out.failed.push(`${r.url()}: ${r.failure()?.errorText}`));
  await page.goto(url, { waitUntil: "load" });

  out.figures = await page.evaluate(() =>
    [...document.querySelectorAll("svg")].map((s) => {
      const r = s.getBoundingClientRect();
      return { figure: s.closest("figure")?.id ?? "", width: r.width, height: r.height };
    }));
  out.refs = await page.evaluate(() =>
    [...document.querySelectorAll(".bfc-ref")].map((e) => ({
      entry: e.getAttribute("data-entry"), text: e.textContent,
      number: e.classList.contains("bfc-num"), inCode: e.closest("code") !== null,
    })));

  // Evenly spaced picks among the numbers, then among the texts.
  const pick = (kind, n) => {
    const idx = out.refs.map((r, i) => [r, i]).filter(([r]) => r.number === kind).map(([, i]) => i);
    const k = Math.min(n, idx.length);
    return Array.from({ length: k }, (_, j) => idx[Math.floor(((j + 0.5) * idx.length) / k)]);
  };
  const handles = await page.$$(".bfc-ref");
  const readPanel = () => page.evaluate(() => {
    const b = document.getElementById("bfc-prov");
    const t = (sel) => b.querySelector(sel)?.textContent ?? null;
    const r = b.getBoundingClientRect();
    return {
      entry: b.getAttribute("data-entry"), visible: !b.hidden && r.width > 0 && r.height > 0,
      op: t(".bfc-prov-op"), value: t(".bfc-prov-value"), shown: t(".bfc-prov-shown"),
      format: t(".bfc-prov-format"), text: t(".bfc-prov-text"),
      header: [...b.querySelectorAll("thead th")].map((c) => c.textContent),
      rows: [...b.querySelectorAll("tbody tr")].map((tr) => [...tr.children].map((c) => c.textContent)),
    };
  });
  const waitFor = (name) => page.waitForFunction((n) => {
    const b = document.getElementById("bfc-prov");
    return !b.hidden && b.getAttribute("data-entry") === n;
  }, { timeout: 5000 }, name);
  for (const i of [...pick(true, Number(nNum)), ...pick(false, Number(nText))]) {
    await handles[i].hover();
    await waitFor(out.refs[i].entry);
    out.samples.push({ index: i, ...out.refs[i], panel: await readPanel() });
  }

  // A click pins the panel: it stays after the mouse leaves; Escape closes it.
  const first = pick(true, 1)[0];
  if (first !== undefined) {
    await handles[first].click();
    await page.mouse.move(2, 2);
    await new Promise((r) => setTimeout(r, 800));
    const pinned = await readPanel();
    await page.keyboard.press("Escape");
    const closed = await readPanel();
    out.pin = { entry: out.refs[first].entry, pinnedEntry: pinned.entry, pinnedVisible: pinned.visible, visibleAfterEscape: closed.visible };
  }
} finally {
  await browser.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(out));
