// A real browser on the example site: headless Chromium (Debian's `chromium`, driven with
// playwright-core) loads examples/site from `serve`. The page, its stylesheet and its image
// must render (a screenshot is taken and its pixels checked where the stylesheet's colours
// and the image must show), and the audio file must play from Range requests as the browser
// makes them (206 in the server's access log, the media element's played time above 0).
// Without chromium (CI has none) the suite says so in one line and skips.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ROOT, tempDir } from './helpers/guest.js';
import { startTestServer, waitFor, type TestServer } from './helpers/serve.js';
import { readPng, pixel, type Image } from './helpers/png.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SITE = join(ROOT, 'examples', 'site');
/** The flags that work as root in a container; playwright adds --headless and a fresh --user-data-dir. */
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required', '--mute-audio'];

/** Colours from examples/site/style.css. */
const PAGE_BACKGROUND = [0xf7, 0xf5, 0xf0], PRE_BACKGROUND = [0x1d, 0x23, 0x30];

function near(got: number[], want: number[], what: string, tolerance = 3): void {
  assert.ok(got.every((v, i) => Math.abs(v - want[i]) <= tolerance), `${what}: rgb(${got}) where rgb(${want}) was expected`);
}

let s: TestServer;
let browser: Browser;
let page: Page;
const ranges: string[] = [];
const shots = tempDir('wzc-browser-');

// ---------------------------------------------------------------------------------------
const browse = suite('serve: a real browser on the example site', { timeout: 120_000 });

// The checks below read pixels with helpers/png.ts: it must read the site's own image right.
browse('the PNG reader decodes the site\'s image: 192 x 96, an orange box on a blue-green gradient', () => {
  const png = readPng(readFileSync(join(SITE, 'pipe.png')));
  assert.equal([png.width, png.height], [192, 96]);
  const [r, g, b] = pixel(png, 30, 48);
  assert.ok(r > 200 && g > 150 && g < 200 && b < 80, `rgb(${r}, ${g}, ${b})`);
  const [r2, g2, b2] = pixel(png, 96, 90);
  assert.ok(b2 > r2 && g2 > r2, `rgb(${r2}, ${g2}, ${b2})`);
});

if (!existsSync(CHROMIUM)) {
  browse.skip(`headless Chromium loads the example site (no chromium at ${CHROMIUM}; set CHROMIUM to another path)`);
} else {
  browse.before(async () => {
    s = startTestServer({}, { root: SITE });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 60_000 });
    page = await browser.newPage({ viewport: { width: 1000, height: 900 }, deviceScaleFactor: 1 });
    // No HTTP cache: every range the media player asks for goes to the server (a cached
    // first response would answer a seek's range itself).
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    // The media requests start with the page (preload="metadata"): watched from the first.
    page.on('request', (r) => { if (new URL(r.url()).pathname === '/tones.wav') ranges.push(r.headers().range ?? '(none)'); });
  });

  browse('the page, its stylesheet and its image render: the screenshot shows their colours and pixels', async () => {
    const response = await page.goto(`${s.url}/`, { waitUntil: 'load', timeout: 60_000 });
    assert.is(response?.status(), 200);
    assert.is(await page.title(), 'wasm-zerocopy serve');
    // The browser's own view: the image decoded at its size, the stylesheet applied.
    assert.equal(await page.evaluate(() => {
      const img = document.querySelector('header img') as HTMLImageElement;
      return [img.complete, img.naturalWidth, img.naturalHeight, document.styleSheets.length];
    }), [true, 192, 96, 1]);

    const file = join(shots, 'site.png');
    const shot: Image = readPng(await page.screenshot({ path: file, fullPage: false }));
    assert.is(shot.width, 1000);
    // The page's background and a <pre> block's come from style.css: without it both are white.
    near(pixel(shot, 3, 3), PAGE_BACKGROUND, 'the page background at (3, 3)');
    const pre = await page.locator('pre').first().boundingBox();
    assert.ok(pre, 'no <pre> box');
    near(pixel(shot, pre.x + 3, pre.y + 3), PRE_BACKGROUND, 'a <pre> block\'s background');
    // The image, pixel for pixel where it is drawn (at its natural size, no scaling).
    const box = await page.locator('header img').boundingBox();
    assert.ok(box && box.width === 192 && box.height === 96, JSON.stringify(box));
    const png = readPng(readFileSync(join(SITE, 'pipe.png')));
    // Away from the rounded corners: the left box, the pipe, the right box, the gradient.
    for (const [x, y] of [[30, 48], [96, 48], [160, 48], [96, 10], [96, 88], [40, 90]]) {
      near(pixel(shot, box.x + x, box.y + y), pixel(png, x, y), `the image at (${x}, ${y})`);
    }
    // And it is not the page background: the image really is there.
    assert.ok(pixel(png, 30, 48).some((v, i) => Math.abs(v - PAGE_BACKGROUND[i]) > 40));
  });

  browse('the audio file plays from Range requests as the browser makes them: 206 in the access log, played time above 0', async () => {
    const played = await page.evaluate(async () => {
      const audio = document.querySelector('audio') as HTMLAudioElement;
      await audio.play();
      // Until half a second has played (the file is 8 s), or 30 s pass.
      const until = Date.now() + 30_000;
      while (audio.currentTime < 0.5 && Date.now() < until && !audio.error) await new Promise((r) => setTimeout(r, 50));
      // A seek near the end: the browser may ask for a new range from there.
      audio.currentTime = 7;
      await new Promise((r) => setTimeout(r, 500));
      audio.pause();
      return { current: audio.currentTime, played: audio.played.length ? audio.played.end(audio.played.length - 1) : 0, error: audio.error?.message ?? null };
    });
    assert.is(played.error, null);
    assert.ok(played.played > 0, `played ${JSON.stringify(played)}`);
    // A response is logged once sent (or cut off): the last may still be going.
    const logged = () => s.log().split('\n').filter((l) => l.includes('"GET /tones.wav HTTP/1.1"'));
    await waitFor('a log line for every request for tones.wav', () => logged().length >= ranges.length, 10_000).catch(() => null);
    const log = s.log(), lines = logged();
    // Each range the browser asked for was answered 206 (the first, "bytes=0-", too).
    assert.ok(lines.length > 0 && lines.every((l) => / 206 \d+ /.test(l)), `tones.wav in the access log:\n${log}`);
    // What the browser asked for: every request for the media file a range ("bytes=0-" first).
    assert.ok(ranges.length > 0 && ranges.every((r) => /^bytes=\d+-\d*$/.test(r)), `the browser's requests for tones.wav: ${ranges.join(', ')}`);
    assert.is(lines.length, ranges.length, `the browser asked for ${ranges.join(', ')}; the server logged:\n${lines.join('\n')}`);
    if (process.env.WZC_KEEP_SHOTS) console.log(`  ranges asked: ${ranges.join(', ')}; ${JSON.stringify(played)}`);
    writeFileSync(join(shots, 'access.log'), log);
  });

  browse.after(async () => {
    await browser?.close();
    await s?.close();
    if (process.env.WZC_KEEP_SHOTS) console.log(`  screenshot and log kept in ${shots}`);
  });
}
browse.run();
