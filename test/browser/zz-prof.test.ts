import { it } from 'vitest';
import { serveWeb } from '../../src/cli/web.js';
import { launchChromium } from './chromium.js';
it('prof', async () => {
  const server = await serveWeb(0);
  const b = await launchChromium();
  const page = await b.newPage(server.url + 'test-results/scratch/' + (process.env.PAGE ?? 'prof.html'));
  await page.waitForFunction('window.profOut', undefined, { timeout: 280000 });
  console.log(await page.evaluate('window.profOut'));
  console.log(b.log.join('\n'));
  await b.close(); await server.close();
}, 300000);
