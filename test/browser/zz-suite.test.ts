import { it } from 'vitest';
import { serveWeb } from '../../src/cli/web.js';
import { launchChromium } from './chromium.js';
it('suite', async () => {
  const server = await serveWeb(0);
  const b = await launchChromium();
  const page = await b.newPage(server.url + 'test/browser/suite.html');
  await page.waitForFunction('window.suite && window.suite.done', undefined, { timeout: 590000, polling: 500 });
  const s: any = await page.evaluate('window.suite');
  console.log(s.error, JSON.stringify(s.adapter)?.slice(0, 80));
  for (const r of s.results) console.log(r.ok ? 'PASS' : 'FAIL', r.family, r.name, r.ms.toFixed(0), r.error ?? '');
  console.log(b.log.slice(-10).join('\n'));
  await b.close(); await server.close();
}, 600000);
